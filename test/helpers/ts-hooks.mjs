// Lets a plain Node process run the TypeScript sources (node --experimental-transform-types
// --import this-file script.mjs): the sources import each other as ./x.js, as TypeScript wants,
// and this finds ./x.ts instead when there is no ./x.js. For tests that need the backend in a
// process of its own; the product itself always runs the build.
import { registerHooks } from 'node:module';

registerHooks({
  resolve(specifier, context, nextResolve) {
    if (specifier.startsWith('.') && specifier.endsWith('.js') && context.parentURL?.endsWith('.ts')) {
      try {
        return nextResolve(specifier, context);
      } catch {
        return nextResolve(`${specifier.slice(0, -3)}.ts`, context);
      }
    }
    return nextResolve(specifier, context);
  },
});
