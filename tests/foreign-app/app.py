"""A small shop API that authbench did not write, for testing flow mappings on foreign code.

It differs from authbench's servers on purpose: its own paths (`/api/auth/token`, `/api/me`,
`/api/orders`), a form-encoded login (`user`, `pass`), and either

- `--mode sessions`: a session cookie called `shop_session`, the session kept in Redis under
  `shop:session:<id>` (read with GET on every protected request), or
- `--mode jwt`: an HS256 access token nested in the JSON answer (`{"data": {"token": ...,
  "refresh": ...}}`), checked without Redis, and an opaque refresh token kept in Redis under
  `shop:refresh:<token>` and rotated on `POST /api/auth/refresh` (JSON `{"token": ...}`).

It counts its own requests in a Prometheus counter with its own names,
`shop_http_requests_total{endpoint, code}`, served at `/internal/metrics`.

Users come from a `username,password` CSV (a header line, then one user per line), the same
file the scenario hands the load generator. Flask on waitress; Redis through redis-py.

    python3 app.py --mode sessions --port 8801 --redis redis://127.0.0.1:6379 --users users.csv
"""

import argparse
import csv
import hmac
import secrets
import sys
import time

import jwt
import redis
from flask import Flask, Response, g, jsonify, request
from prometheus_client import CollectorRegistry, Counter, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from waitress import serve

SESSION_COOKIE = "shop_session"
SESSION_TTL_S = 1800
ACCESS_TTL_S = 900
REFRESH_TTL_S = 86400
METRICS_PATH = "/internal/metrics"


def read_users(path):
    with open(path, newline="", encoding="utf-8") as f:
        rows = csv.reader(f)
        next(rows, None)
        return {row[0]: row[1] for row in rows if len(row) >= 2}


def create_app(mode, store, users, signing_key):
    app = Flask("shop")
    registry = CollectorRegistry()
    requests_total = Counter(
        "shop_http_requests",
        "Requests the shop answered.",
        ["endpoint", "code"],
        registry=registry,
    )

    @app.after_request
    def count(response):
        if request.path != METRICS_PATH:
            requests_total.labels(request.path, str(response.status_code)).inc()
        return response

    def refused(status, message):
        return jsonify({"status": "error", "detail": message}), status

    def current_user():
        if mode == "sessions":
            sid = request.cookies.get(SESSION_COOKIE)
            return store.get(f"shop:session:{sid}") if sid else None
        header = request.headers.get("Authorization", "")
        if not header.startswith("Bearer "):
            return None
        try:
            claims = jwt.decode(header[7:], signing_key, algorithms=["HS256"], audience="shop")
        except jwt.InvalidTokenError:
            return None
        return claims["sub"]

    def protected(view):
        def wrapped():
            try:
                user = current_user()
            except redis.RedisError:
                return refused(503, "session store unavailable")
            if user is None:
                return refused(401, "sign in first")
            g.user = user
            return view()

        wrapped.__name__ = view.__name__
        return wrapped

    def token_pair(user):
        now = int(time.time())
        claims = {"sub": user, "aud": "shop", "iat": now, "exp": now + ACCESS_TTL_S}
        refresh = secrets.token_urlsafe(32)
        store.set(f"shop:refresh:{refresh}", user, ex=REFRESH_TTL_S)
        token = jwt.encode(claims, signing_key, algorithm="HS256")
        return jsonify({"status": "ok", "data": {"token": token, "refresh": refresh}})

    @app.post("/api/auth/token")
    def sign_in():
        user = request.form.get("user", "")
        password = request.form.get("pass", "")
        known = users.get(user)
        if known is None or not hmac.compare_digest(known.encode(), password.encode()):
            return refused(401, "wrong user or password")
        if mode == "jwt":
            return token_pair(user)
        sid = secrets.token_urlsafe(24)
        store.set(f"shop:session:{sid}", user, ex=SESSION_TTL_S)
        response = jsonify({"status": "ok"})
        response.set_cookie(SESSION_COOKIE, sid, httponly=True, samesite="Lax", max_age=SESSION_TTL_S)
        return response

    @app.post("/api/auth/refresh")
    def refresh():
        if mode != "jwt":
            return refused(404, "no refresh in session mode")
        token = (request.get_json(silent=True) or {}).get("token", "")
        user = store.getdel(f"shop:refresh:{token}") if token else None
        if user is None:
            return refused(401, "refresh token unknown or used")
        return token_pair(user)

    @app.post("/api/auth/logout")
    def sign_out():
        if mode == "sessions":
            sid = request.cookies.get(SESSION_COOKIE)
            if sid:
                store.delete(f"shop:session:{sid}")
        return Response(status=204)

    @app.get("/api/me")
    @protected
    def me():
        return jsonify({"status": "ok", "data": {"user": g.user}})

    @app.get("/api/orders")
    @protected
    def orders():
        return jsonify({"status": "ok", "data": [{"id": 1, "total_cents": 4200}]})

    @app.get("/api/health")
    def health():
        return jsonify({"status": "ok", "mode": mode})

    @app.get(METRICS_PATH)
    def metrics():
        return Response(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)

    return app


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=["sessions", "jwt"], required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--redis", required=True, help="redis://host:port")
    parser.add_argument("--users", required=True, help="username,password CSV")
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()
    store = redis.Redis.from_url(args.redis, decode_responses=True, socket_timeout=2)
    users = read_users(args.users)
    signing_key = secrets.token_bytes(32)
    app = create_app(args.mode, store, users, signing_key)
    print(f"shop ({args.mode}) on 127.0.0.1:{args.port}, {len(users)} users", file=sys.stderr, flush=True)
    serve(app, host="127.0.0.1", port=args.port, threads=args.threads, _quiet=True)


if __name__ == "__main__":
    main()
