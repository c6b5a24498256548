// The browser app's build (Vite): web/src → web/dist, served by `mosaik web` (src/cli/web.ts).
// Everything is bundled: no CDN, no request to anything but the relay at run time.
import { defineConfig } from 'vite';

export default defineConfig({
  root: import.meta.dirname,
  base: '/',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  // @hpke/core's fallback import of Node's crypto (never taken in a browser, which has WebCrypto).
  resolve: { alias: { crypto: new URL('./src/lib/node-crypto-stub.ts', import.meta.url).pathname } },
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022', sourcemap: true, chunkSizeWarningLimit: 4096 },
  logLevel: 'warn',
});
