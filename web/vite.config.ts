// Vite build of the UI. The server serves web/dist at `/`, so assets use absolute `/assets/…` paths
// and the SPA fallback returns index.html for any client route.
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';
import { fileURLToPath } from 'node:url';

const webRoot = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root: webRoot,
  base: '/',
  plugins: [react()],
  logLevel: 'warn',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    // The editor (CodeMirror) and charts (uPlot) are dynamic imports, so they land in their own chunks
    // and are not part of the first page load.
    chunkSizeWarningLimit: 600,
  },
  server: {
    // `vite dev` against a running `rankscope server` on :3100.
    proxy: { '/loki': { target: 'http://127.0.0.1:3100', ws: true }, '/prometheus': 'http://127.0.0.1:3100' },
  },
});
