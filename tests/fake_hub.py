"""A local stand-in for the Hugging Face Hub's upload API that records what a client sends.

It answers what `HfApi.create_repo` and `HfApi.upload_folder` call (create the repository, ask how to upload each
file, commit) and tells the client to send every file inline, so the recorded commit holds the files' bytes.
"""

import base64
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FakeHub:
    def __init__(self):
        self.requests: list[dict] = []  # method, path, headers, body of every request
        self.repos: dict[str, dict] = {}  # repo id -> {"private": bool}
        self.files: dict[str, dict[str, bytes]] = {}  # repo id -> uploaded path -> content
        self.commit_messages: list[str] = []
        self.cards: list[str] = []  # model cards the client asked the Hub to validate
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output quiet
                pass

            def _reply(self, status: int, payload: dict) -> None:
                body = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                hub.requests.append({"method": "GET", "path": self.path, "headers": dict(self.headers), "body": b""})
                self._reply(404, {"error": f"not served by the fake hub: {self.path}"})

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                hub.requests.append({"method": "POST", "path": self.path, "headers": dict(self.headers), "body": body})
                parts = self.path.split("?")[0].strip("/").split("/")
                if parts[:3] == ["api", "repos", "create"]:
                    request = json.loads(body)
                    repo_id = (
                        f"{request['organization']}/{request['name']}"
                        if request.get("organization")
                        else request["name"]
                    )
                    private = bool(request.get("private")) or request.get("visibility") == "private"
                    hub.repos[repo_id] = {"private": private}
                    self._reply(200, {"url": f"http://{self.headers['Host']}/{repo_id}", "name": repo_id})
                elif parts[:2] == ["api", "validate-yaml"]:
                    hub.cards.append(json.loads(body)["content"])
                    self._reply(200, {"errors": [], "warnings": []})
                elif parts[:2] == ["api", "models"] and "preupload" in parts:
                    files = json.loads(body)["files"]
                    modes = [{"path": f["path"], "uploadMode": "regular", "shouldIgnore": False} for f in files]
                    self._reply(200, {"files": modes, "commitOid": "0" * 40})
                elif parts[:2] == ["api", "models"] and "commit" in parts:
                    repo_id = "/".join(parts[2 : parts.index("commit")])
                    for line in body.decode().splitlines():
                        item = json.loads(line)
                        if item["key"] == "header":
                            hub.commit_messages.append(item["value"]["summary"])
                        elif item["key"] == "file":
                            content = base64.b64decode(item["value"]["content"])
                            hub.files.setdefault(repo_id, {})[item["value"]["path"]] = content
                    url = f"http://{self.headers['Host']}/{repo_id}/commit/{'1' * 40}"
                    self._reply(200, {"commitUrl": url, "commitOid": "1" * 40, "success": True})
                else:
                    self._reply(404, {"error": f"not served by the fake hub: {self.path}"})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
