// Noisy image-level captions, like web alt-text: they name some or all of the classes in the image
// (large regions more often than small ones), in varied templates, with no pixel information.
import type { Rng } from '../rng';

const fillers = ['', '', '', 'nice day. ', 'summer trip: ', 'photo by me. ', 'wow, ', 'throwback: ', 'beautiful. '];

function list(names: string[]): string {
  if (names.length === 1) return names[0];
  return `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;
}

/** `present` maps class name → fraction of the image it covers. */
export function caption(present: Map<string, number>, r: Rng): string {
  const named = [...present.entries()].filter(([, frac]) => r.chance(frac > 0.08 ? 0.9 : frac > 0.01 ? 0.6 : 0.25)).map(([n]) => n);
  if (named.length === 0) named.push([...present.entries()].sort((a, b) => b[1] - a[1])[0][0]);
  for (let i = named.length - 1; i > 0; i--) {
    const j = r.int(i + 1);
    [named[i], named[j]] = [named[j], named[i]];
  }
  const a = named[0];
  const rest = named.slice(1);
  const templates = [
    () => `a photo of ${list(named.map((n) => `the ${n}`))}.`,
    () => `${list(named)}`,
    () => (rest.length ? `${a} with ${list(rest)}` : `just ${a}`),
    () => `my ${a}!${rest.length ? ` (and ${list(rest)})` : ''}`,
    () => `view of the ${a}${rest.length ? `, ${list(rest)} too` : ''}`,
    () => `${list(named)} in this picture`,
    () => `there is a ${a}${rest.length ? ` and ${list(rest)}` : ''} in the scene.`,
  ];
  return (r.pick(fillers) + r.pick(templates)()).trim();
}
