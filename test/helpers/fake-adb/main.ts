/**
 * A fake device in a process of its own, for benchmark scripts:
 *
 *   node_modules/.bin/node --experimental-transform-types --no-warnings \
 *     --import ./test/helpers/ts-hooks.mjs test/helpers/fake-adb/main.ts \
 *     [--port 0] [--auth never] [--model NAME] [--deny REGEX] [--die-after-bytes N]
 *
 * Prints `listening 127.0.0.1:PORT` once it accepts connections (connect only after that line:
 * a refused `adb connect` still exits 0). SIGTERM or SIGINT stops it; so does dying by
 * --die-after-bytes, after printing `unplugged`, since an unplugged phone is gone for good.
 */
import { parseArgs } from 'node:util';
import { FakeDevice, type FakeDeviceOptions } from './device.js';

function usage(message: string): never {
  process.stderr.write(
    `${message}\nusage: main.ts [--port N] [--auth none|never] [--model NAME] [--deny REGEX] [--die-after-bytes N]\n`,
  );
  process.exit(2);
}

function count(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text)) usage(`--${name} wants a whole number, not ${JSON.stringify(text)}`);
  return Number(text);
}

const OPTIONS = {
  port: { type: 'string' },
  auth: { type: 'string' },
  model: { type: 'string' },
  deny: { type: 'string' },
  'die-after-bytes': { type: 'string' },
} as const;

let values: ReturnType<typeof parseArgs<{ options: typeof OPTIONS }>>['values'];
try {
  ({ values } = parseArgs({ options: OPTIONS }));
} catch (err) {
  usage((err as Error).message);
}
if (values.auth !== undefined && values.auth !== 'none' && values.auth !== 'never')
  usage(`--auth is none or never, not ${values.auth}`);

const options: FakeDeviceOptions = {
  port: count('port', values.port),
  auth: values.auth as 'none' | 'never' | undefined,
  model: values.model,
  deny: values.deny === undefined ? undefined : new RegExp(values.deny),
  dieAfterBytes: count('die-after-bytes', values['die-after-bytes']),
};

const device = await FakeDevice.start(options);
process.stdout.write(`listening ${device.serial}\n`);

let stopping = false;
const stop = async (code: number) => {
  if (stopping) return;
  stopping = true;
  await device.close();
  process.exit(code);
};
process.on('SIGTERM', () => void stop(0));
process.on('SIGINT', () => void stop(0));
void device.unplugged.then(() => {
  if (stopping) return;
  process.stdout.write('unplugged\n');
  void stop(0);
});
