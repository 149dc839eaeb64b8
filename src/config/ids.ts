/** A pair's id: 12 base-36 characters, random; short enough to type, unlikely to collide. */
export function newPairId(): string {
  let id = '';
  while (id.length < 12) id += Math.floor(Math.random() * 36).toString(36);
  return id;
}
