// Where a process allocates its large buffers (issue 9, item 3): load it into a server with
// NODE_OPTIONS="--import /abs/path/bench/buffer-allocation-sites.mjs" and send the server SIGUSR2;
// it writes the allocation sites of buffers and typed arrays of 16 KB and more (Buffer.alloc*,
// Buffer.concat, and the typed-array constructors, which covers zlib's outputs too), the bytes and
// counts summed per site over the process's life, into $BUFFER_SITES_OUT (default
// /tmp/buffer-allocation-sites-<pid>.txt). A heap snapshot shows the buffers alive; this shows the
// ones that came and went, which wait for V8's next full collection unless their owner frees them
// (src/store/owned-buffer.ts): a site with many megabytes that nothing frees is where the garbage
// behind the peak RSS comes from. Debugging only: capturing a stack per allocation slows the server.
// Not a Node internal's own allocations (socket reads, fs reads).
// Each site also says how many of its bytes their owner freed (`transfer`, src/store/owned-buffer.ts)
// and how many the garbage collector did: the "gc" column is the garbage that waits for V8's next
// full collection (finalization runs late, so a site's bytes minus both is still alive or pending).
// BUFFER_SITES_MIN_BYTES lowers the 16 KB floor (Node's pool slices are below 32 KB).

import { writeFileSync } from 'node:fs';

const MIN_BYTES = Number(process.env.BUFFER_SITES_MIN_BYTES ?? 16 * 1024);
const sites = new Map();
/** Memory → its id, and the ids whose memory was detached by its owner before it died. */
const ids = new WeakMap();
const detached = new Set();
let nextId = 1;
const collected = new FinalizationRegistry(({ site, id, bytes }) => {
  if (detached.delete(id)) site.freed += bytes;
  else site.gc += bytes;
});
const transfer = ArrayBuffer.prototype.transfer;
ArrayBuffer.prototype.transfer = function (...args) {
  const id = ids.get(this);
  if (id !== undefined) detached.add(id);
  return transfer.apply(this, args);
};

function note(bytes, made) {
  if (!(bytes >= MIN_BYTES)) return;
  const frames = new Error().stack.split('\n').slice(3, 7).map((line) => line.trim().replace(/^at /, ''));
  const key = frames.join(' < ');
  const site = sites.get(key) ?? { count: 0, bytes: 0, freed: 0, gc: 0 };
  site.count++;
  site.bytes += bytes;
  sites.set(key, site);
  const memory = made instanceof ArrayBuffer ? made : made?.buffer;
  if (memory instanceof ArrayBuffer && !ids.has(memory)) {
    const id = nextId++;
    ids.set(memory, id);
    collected.register(memory, { site, id, bytes });
  }
}

for (const name of ['allocUnsafeSlow', 'allocUnsafe', 'alloc']) {
  const original = Buffer[name];
  Buffer[name] = function (size, ...rest) {
    const made = original.call(this, size, ...rest);
    note(size, made);
    return made;
  };
}
const concat = Buffer.concat;
Buffer.concat = function (list, totalLength) {
  const result = concat.call(this, list, totalLength);
  note(result.length, result);
  return result;
};
for (const name of ['ArrayBuffer', 'Uint8Array', 'Uint16Array', 'Uint32Array', 'Int32Array', 'Float64Array', 'BigInt64Array']) {
  const Constructor = globalThis[name];
  const perElement = Constructor.BYTES_PER_ELEMENT ?? 1;
  const proxy = new Proxy(Constructor, {
    construct(target, args, newTarget) {
      const made = Reflect.construct(target, args, newTarget === proxy ? target : newTarget);
      if (typeof args[0] === 'number') note(args[0] * perElement, made);
      return made;
    },
  });
  globalThis[name] = proxy;
}

process.on('SIGUSR2', () => {
  const rows = [...sites]
    .sort((a, b) => b[1].bytes - a[1].bytes)
    .slice(0, 60)
    .map(([key, site]) => `${(site.bytes / 1e6).toFixed(1).padStart(8)} MB ${String(site.count).padStart(7)}×  freed ${(site.freed / 1e6).toFixed(1).padStart(6)}  gc ${(site.gc / 1e6).toFixed(1).padStart(6)}  ${key}`);
  writeFileSync(process.env.BUFFER_SITES_OUT ?? `/tmp/buffer-allocation-sites-${process.pid}.txt`, `${rows.join('\n')}\n`);
});
