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

import { writeFileSync } from 'node:fs';

const MIN_BYTES = 16 * 1024;
const sites = new Map();

function note(bytes) {
  if (!(bytes >= MIN_BYTES)) return;
  const frames = new Error().stack.split('\n').slice(3, 7).map((line) => line.trim().replace(/^at /, ''));
  const key = frames.join(' < ');
  const site = sites.get(key) ?? { count: 0, bytes: 0 };
  site.count++;
  site.bytes += bytes;
  sites.set(key, site);
}

for (const name of ['allocUnsafeSlow', 'allocUnsafe', 'alloc']) {
  const original = Buffer[name];
  Buffer[name] = function (size, ...rest) {
    note(size);
    return original.call(this, size, ...rest);
  };
}
const concat = Buffer.concat;
Buffer.concat = function (list, totalLength) {
  const result = concat.call(this, list, totalLength);
  note(result.length);
  return result;
};
for (const name of ['ArrayBuffer', 'Uint8Array', 'Uint16Array', 'Uint32Array', 'Int32Array', 'Float64Array', 'BigInt64Array']) {
  const Constructor = globalThis[name];
  const perElement = Constructor.BYTES_PER_ELEMENT ?? 1;
  const proxy = new Proxy(Constructor, {
    construct(target, args, newTarget) {
      if (typeof args[0] === 'number') note(args[0] * perElement);
      return Reflect.construct(target, args, newTarget === proxy ? target : newTarget);
    },
  });
  globalThis[name] = proxy;
}

process.on('SIGUSR2', () => {
  const rows = [...sites]
    .sort((a, b) => b[1].bytes - a[1].bytes)
    .slice(0, 60)
    .map(([key, site]) => `${(site.bytes / 1e6).toFixed(1).padStart(8)} MB ${String(site.count).padStart(7)}×  ${key}`);
  writeFileSync(process.env.BUFFER_SITES_OUT ?? `/tmp/buffer-allocation-sites-${process.pid}.txt`, `${rows.join('\n')}\n`);
});
