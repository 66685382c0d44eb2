// The floor of `npm run bench`: what any app doing this kind of job must pay, with Node built-ins
// only (http, fs) and nothing else: no validation, no retries, no error reporting. One GET to
// the upstream stand-in (FLOOR_URL), then result.txt and computed.json written as the app does.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const out = process.env.IEXEC_OUT;
const url = new URL(process.env.FLOOR_URL);
const client = require(url.protocol === 'https:' ? 'node:https' : 'node:http');

function write(name, text) {
  fs.writeFileSync(path.join(out, `.${name}.tmp`), text);
  fs.renameSync(path.join(out, `.${name}.tmp`), path.join(out, name));
}

client.get(url, (response) => {
  let body = '';
  response.on('data', (chunk) => (body += chunk));
  response.on('end', () => {
    write('result.txt', `upstream answered ${body.length} bytes`);
    write('computed.json', JSON.stringify({ 'deterministic-output-path': path.join(out, 'result.txt') }));
  });
});
