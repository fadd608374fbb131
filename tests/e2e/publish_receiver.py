#!/usr/bin/env python3
"""A stand-in for Confluence's and Notion's page-creation APIs and a report webhook, for the
publish e2e tests. It checks each request against the documented shape and records it as a JSON
line {"t", "method", "path", "status", "problems": [...], "headers", "body"} in --out.

- POST /rest/api/content (Confluence "create content"): Authorization "Bearer <token>",
  Content-Type application/json, JSON {type: "page", title, space: {key}, ancestors: [{id}]?,
  body: {storage: {value, representation: "storage"}}}; answers {id, _links: {base, webui}}.
- POST /v1/pages (Notion "create a page"): Authorization "Bearer <token>", Notion-Version
  2022-06-28, JSON {parent: {page_id}, properties: {title: {title: [{text: {content}}]}},
  children: [<= 100 blocks]}; every rich_text content <= 2000 characters; answers {object: "page", id, url}.
- PATCH /v1/blocks/<id>/children (Notion "append block children"): same headers, {children: [<= 100]}.
- POST /hook: a generic report webhook {run_id, title, markdown, html}.
A request that breaks the shape is answered 400 with the problems; --fail-first N answers the
first N requests 503 (to prove retries)."""
import argparse
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

args = None
lock = threading.Lock()
count = 0
pages = 0


def rich_text_problems(blocks, problems):
    for i, b in enumerate(blocks):
        t = b.get("type")
        if b.get("object") != "block" or t not in b:
            problems.append(f"children[{i}]: not a block object with its type's body")
            continue
        for j, rt in enumerate(b[t].get("rich_text", [])):
            if len(rt.get("text", {}).get("content", "")) > 2000:
                problems.append(f"children[{i}].rich_text[{j}]: content over 2000 characters")


def check(method, path, headers, body):
    problems = []
    auth = headers.get("Authorization", "")
    if args.token and auth != "Bearer " + args.token:
        problems.append("Authorization is not 'Bearer <the configured token>'")
    if headers.get("Content-Type") != "application/json":
        problems.append("Content-Type is not application/json")
    try:
        j = json.loads(body)
    except ValueError:
        return ["body is not JSON"], None
    if path == "/rest/api/content" and method == "POST":
        if j.get("type") != "page":
            problems.append("type is not page")
        if not j.get("title"):
            problems.append("no title")
        if j.get("space", {}).get("key") != args.space_key:
            problems.append("space.key is not " + str(args.space_key))
        if "ancestors" in j and not all("id" in a for a in j["ancestors"]):
            problems.append("ancestors without id")
        st = j.get("body", {}).get("storage", {})
        if st.get("representation") != "storage" or not st.get("value"):
            problems.append("body.storage is not {value, representation: storage}")
    elif path == "/v1/pages" and method == "POST":
        if headers.get("Notion-Version") != "2022-06-28":
            problems.append("Notion-Version is not 2022-06-28")
        if j.get("parent", {}).get("page_id") != args.parent_page:
            problems.append("parent.page_id is not " + str(args.parent_page))
        title = j.get("properties", {}).get("title", {}).get("title", [])
        if not title or not title[0].get("text", {}).get("content"):
            problems.append("properties.title.title[0].text.content missing")
        children = j.get("children", [])
        if len(children) > 100:
            problems.append("more than 100 children")
        rich_text_problems(children, problems)
    elif path.startswith("/v1/blocks/") and path.endswith("/children") and method == "PATCH":
        if headers.get("Notion-Version") != "2022-06-28":
            problems.append("Notion-Version is not 2022-06-28")
        children = j.get("children", [])
        if not children or len(children) > 100:
            problems.append("children empty or more than 100")
        rich_text_problems(children, problems)
    elif path == "/hook" and method == "POST":
        for k in ("run_id", "title", "markdown", "html"):
            if not isinstance(j.get(k), str) or not j.get(k):
                problems.append(k + " missing")
    else:
        problems.append(f"unexpected {method} {path}")
    return problems, j


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def handle_any(self):
        global count, pages
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(min(n, 8 << 20)).decode("utf-8", "replace")
        problems, j = check(self.command, self.path, self.headers, body)
        with lock:
            count += 1
            status = 503 if count <= args.fail_first else (400 if problems else 200)
            answer = {}
            if status == 200:
                if self.path == "/rest/api/content":
                    pages += 1
                    answer = {"id": str(1000 + pages), "type": "page",
                              "_links": {"base": f"http://127.0.0.1:{args.port}/wiki",
                                         "webui": f"/spaces/{args.space_key}/pages/{1000 + pages}"}}
                elif self.path == "/v1/pages":
                    pages += 1
                    answer = {"object": "page", "id": f"page-{pages}",
                              "url": f"https://www.notion.so/page-{pages}"}
                elif self.command == "PATCH":
                    answer = {"object": "list", "results": []}
            elif status == 400:
                answer = {"object": "error", "status": 400, "code": "validation_error", "message": "; ".join(problems)}
            with open(args.out, "a") as f:
                f.write(json.dumps({"t": time.time(), "method": self.command, "path": self.path, "status": status,
                                    "problems": problems, "headers": dict(self.headers), "body": j}) + "\n")
        data = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_POST = handle_any
    do_PATCH = handle_any


def main():
    global args
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--fail-first", type=int, default=0)
    p.add_argument("--token", default="")
    p.add_argument("--space-key", default="OPS")
    p.add_argument("--parent-page", default="parent-page-1")
    args = p.parse_args()
    ThreadingHTTPServer.daemon_threads = True
    ThreadingHTTPServer(("127.0.0.1", args.port), Handler).serve_forever()


if __name__ == "__main__":
    main()
