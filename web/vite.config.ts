// The browser app's build (Vite): web/src → web/dist, served by `mosaik web` (src/cli/web.ts).
// Everything is bundled: no CDN, no request to anything but the relay at run time.
import { defineConfig } from 'vite';

export default defineConfig({
  root: import.meta.dirname,
  base: '/',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  // @hpke/core's fallback import of Node's crypto (never taken in a browser, which has WebCrypto).
  // csv-parse's Node build needs Buffer; the CSV reading core (src/ingest/csv-read.ts) gets its browser build.
  resolve: { alias: { crypto: new URL('./src/lib/node-crypto-stub.ts', import.meta.url).pathname, 'csv-parse/sync': 'csv-parse/browser/esm/sync' } },
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022', sourcemap: true, chunkSizeWarningLimit: 4096 },
  logLevel: 'warn',
});
