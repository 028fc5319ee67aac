// Child process for test/clip-cache.test.ts: builds a CLIP cache with the test's stand-in teacher
// and SIGKILLs itself when asked for record `killAt`, as a crashed or killed training job would.
// Usage: clip-cache-child.ts <dir> <key> <count> <killAt> <batch>
import { buildClipCache } from '../../src/data/clip-cache';
import { fakeTeacher } from './fake-teacher';

const [dir, key, count, killAt, batch] = process.argv.slice(2);
const teacher = fakeTeacher([]);
void buildClipCache(dir, key, Number(count), async (ids) => {
  if (ids.includes(Number(killAt))) process.kill(process.pid, 'SIGKILL');
  return teacher(ids);
}, { batch: Number(batch) });
