// The JIFF server of the side-by-side benchmark (issue 7): relays every message between the three
// JIFF parties (socket.io over HTTP on 127.0.0.1) and, as JIFF's "crypto provider", deals the
// correlated randomness its protocols use (Beaver triples, random bits, …).
//   node dist/bench/compare/jiff-server.js <port> [bignumber]
// Prints READY once it listens; runs until killed.
import { createServer } from 'node:http';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
// jiff-mpc is CommonJS without type declarations.
const jiffMpc = require('jiff-mpc') as { JIFFServer: new (http: unknown, opts: object) => { apply_extension(ext: unknown, opts?: object): void }; JIFFServerBigNumber: unknown };

const port = Number(process.argv[2]);
const bignumber = process.argv[3] === 'bignumber';
const http = createServer();
const server = new jiffMpc.JIFFServer(http, { logs: false });
if (bignumber) server.apply_extension(jiffMpc.JIFFServerBigNumber, {});
http.listen(port, '127.0.0.1', () => console.log('READY'));
