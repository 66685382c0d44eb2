// The floor of `npm run bench`: the same job with Node built-ins only (http, fs), and nothing
// else: no validation, no retries, no error reporting. What any app doing this job must pay.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const out = process.env.IEXEC_OUT;
const { endpoint, namespace, key } = JSON.parse(process.env.IEXEC_APP_DEVELOPER_SECRET);
const url = new URL(`${endpoint}/hit/${namespace}/${key}`);
const client = require(url.protocol === 'https:' ? 'node:https' : 'node:http');

function write(name, text) {
  fs.writeFileSync(path.join(out, `.${name}.tmp`), text);
  fs.renameSync(path.join(out, `.${name}.tmp`), path.join(out, name));
}

client.get(url, (response) => {
  let body = '';
  response.on('data', (chunk) => (body += chunk));
  response.on('end', () => {
    write('result.txt', `endpoint hit ${JSON.parse(body).value} times`);
    write('computed.json', JSON.stringify({ 'deterministic-output-path': path.join(out, 'result.txt') }));
  });
});
