// A real S3-protocol server on loopback for tests and `npm start` with EXPORTS_FILE_STORE=s3:
// s3rver, with its own folder and the private `exports` bucket. It does not verify SigV4
// signatures (verifying them is the store's job). A thin proxy in front of it counts the requests
// by operation (GET /_s3/requests), can take the store down for a test (POST /_s3/outage),
// answers AbortMultipartUpload, which s3rver 3.7 lacks, and writes suffix ranges out, which it
// misreads.
//
// Usage: node scripts/s3_server.mjs --port N --directory DIR [--bucket exports]
import http from "node:http";
import { parseArgs } from "node:util";
import S3rver from "s3rver";

const { values } = parseArgs({
  options: {
    port: { type: "string" },
    directory: { type: "string" },
    bucket: { type: "string", default: "exports" },
  },
});
if (!values.port || !values.directory) {
  console.error("usage: node scripts/s3_server.mjs --port N --directory DIR [--bucket exports]");
  process.exit(2);
}

const counts = {};
const s3 = new S3rver({
  port: 0,
  address: "127.0.0.1",
  silent: true,
  directory: values.directory,
  configureBuckets: [{ name: values.bucket }],
});
const { port: innerPort } = await s3.run();

// A thin proxy in front of s3rver: it counts requests by operation and can be told to refuse
// every request (POST /_s3/outage {"down": true}), so tests can take the store "down" and back.
let down = false;
const server = http.createServer((request, response) => {
  const url = new URL(request.url, "http://local");
  if (url.pathname === "/_s3/requests") {
    response.setHeader("content-type", "application/json");
    response.end(JSON.stringify(counts));
    return;
  }
  if (url.pathname === "/_s3/outage") {
    let body = "";
    request.on("data", (chunk) => (body += chunk));
    request.on("end", () => {
      down = JSON.parse(body || "{}").down === true;
      response.end(JSON.stringify({ down }));
    });
    return;
  }
  const operation = operationOf(request.method, url);
  counts[operation] = (counts[operation] ?? 0) + 1;
  if (down) {
    request.resume();
    response.statusCode = 503;
    response.end("<Error><Code>ServiceUnavailable</Code><Message>down for a test</Message></Error>");
    return;
  }
  if (operation === "AbortMultipartUpload") {
    // s3rver 3.7 does not implement it (405). Its unfinished parts are never visible as an
    // object, so answering as S3 does (204) is all a client can observe of an abort.
    request.resume();
    response.statusCode = 204;
    response.end();
    return;
  }
  const suffix = /^bytes=-(\d+)$/.exec(request.headers.range ?? "");
  if (request.method === "GET" && suffix) {
    // s3rver 3.7 reads `bytes=-n` (the last n bytes) as `bytes=0-n`; S3 does not. Ask for the
    // object's size first and forward the same range written out.
    forward({ ...request, method: "HEAD", headers: { ...request.headers, range: undefined } }, null, (head) => {
      head.resume();
      const size = Number(head.headers["content-length"] ?? 0);
      const headers = { ...request.headers };
      if (head.statusCode === 200 && size > 0) {
        headers.range = `bytes=${Math.max(0, size - Number(suffix[1]))}-${size - 1}`;
      }
      forward({ method: request.method, url: request.url, headers }, request, (answer) => relay(answer, response), response);
    }, response);
    return;
  }
  forward(request, request, (answer) => relay(answer, response), response);
});

function forward(head, body, onAnswer, response) {
  const headers = Object.fromEntries(Object.entries(head.headers).filter(([, value]) => value !== undefined));
  const upstream = http.request(
    { host: "127.0.0.1", port: innerPort, method: head.method, path: head.url, headers },
    onAnswer,
  );
  upstream.on("error", () => {
    response.statusCode = 502;
    response.end();
  });
  if (body) body.pipe(upstream);
  else upstream.end();
}

function relay(answer, response) {
  response.writeHead(answer.statusCode ?? 502, answer.headers);
  answer.pipe(response);
}
server.listen(Number(values.port), "127.0.0.1", () => {
  console.log(JSON.stringify({ message: "ready", port: Number(values.port) }));
});

function operationOf(method, url) {
  const query = url.searchParams;
  if (method === "POST" && query.has("uploads")) return "CreateMultipartUpload";
  if (method === "PUT" && query.has("partNumber")) return "UploadPart";
  if (method === "POST" && query.has("uploadId")) return "CompleteMultipartUpload";
  if (method === "DELETE" && query.has("uploadId")) return "AbortMultipartUpload";
  if (method === "DELETE") return "DeleteObject";
  if (method === "GET" || method === "HEAD") return `${method}Object`;
  if (method === "PUT") return "PutObject";
  return `${method} ${url.pathname}`;
}

// Its folder is throwaway: stop at once, without waiting for idle keep-alive connections.
for (const signal of ["SIGTERM", "SIGINT"]) {
  process.on(signal, () => process.exit(0));
}
