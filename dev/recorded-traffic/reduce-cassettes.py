#!/usr/bin/env python3
"""
Reduces the HTTP traffic recorded in replicate-python's VCR cassettes (tests/cassettes/*.yaml, every
version in the repository's history) to the fixtures under tests/fixtures/recorded/: one JSON file
per distinct cassette version, holding the answers the route reads (predictions, prediction pages,
files, models and versions, the webhook secret, errors), each file naming its source (repository,
path, commit, date).

A dev tool, run by hand once against a local clone (`git clone` of replicate/replicate-python);
the fixtures it writes are committed data, and nothing in the tests or CI runs it. Needs PyYAML.

    python3 dev/recorded-traffic/reduce-cassettes.py /path/to/replicate-python tests/fixtures/recorded

What it changes, so the fixtures stay small (each fixture's `source.reduced` says which applied):
- data URLs (`data:<type>;base64,...`) are cut to a valid 1-byte stub of the same media type;
- `logs` longer than 1,000 characters keep their last 1,000 (tqdm bars are read from the end);
- model answers keep their own fields, and of their versions' `openapi_schema` only `Input` and
  `Output` (the rest is Cog's boilerplate);
- hardware, collection, account, training, model list and search answers are left out, and so are
  files downloaded from the delivery hosts (the route reads none of them);
- request headers are cut to `prefer` (a held create) and the request body to its top-level keys.
"""
import gzip
import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path

import yaml

REPO = "replicate/replicate-python"
DATA_URL = re.compile(r"^data:([\w.+-]+/[\w.+-]+)?(;[^,]*)?,.{64,}$", re.S)
STUB_BYTES = {"image/png": "iVBORw0KGgo=", "image/jpeg": "/9j/", "image/webp": "UklGRg==", "audio/wav": "UklGRg=="}
MAX_LOGS = 1000
SKIP = re.compile(r"^https://api\.replicate\.com/v1/(hardware|collections|account|trainings|models(\?.*)?$|search)|/trainings$")
API = "https://api.replicate.com/"


class Loader(yaml.SafeLoader):
    pass


def git(repo, *args):
    return subprocess.run(["git", "-C", repo, *args], check=True, capture_output=True).stdout


def body_text(response):
    if "content" in response:
        raw = response["content"]
    else:
        raw = (response.get("body") or {}).get("string", "")
    if isinstance(raw, bytes):
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
        raw = raw.decode("utf-8", "replace")
    return raw or ""


def status_of(response):
    status = response.get("status")
    if isinstance(status, dict):
        return int(status["code"])
    return int(response.get("status_code") or status)


def header(headers, name):
    for key, values in (headers or {}).items():
        if key.lower() == name:
            return values[0] if isinstance(values, list) else values
    return None


def reduce_value(value, notes):
    if isinstance(value, str):
        match = DATA_URL.match(value)
        if match:
            notes.add("data URLs cut to a 1-byte stub of the same media type")
            media = match.group(1) or "application/octet-stream"
            return f"data:{media};base64,{STUB_BYTES.get(media, 'AA==')}"
        return value
    if isinstance(value, list):
        return [reduce_value(item, notes) for item in value]
    if isinstance(value, dict):
        return {key: reduce_value(item, notes) for key, item in value.items()}
    return value


def reduce_prediction_like(value, notes):
    if isinstance(value, dict):
        logs = value.get("logs")
        if isinstance(logs, str) and len(logs) > MAX_LOGS:
            notes.add(f"logs over {MAX_LOGS} characters keep their last {MAX_LOGS}")
            value = {**value, "logs": logs[-MAX_LOGS:]}
        if isinstance(value.get("results"), list):
            value = {**value, "results": [reduce_prediction_like(item, notes) for item in value["results"]]}
    return value


def reduce_schema(version, notes):
    if not isinstance(version, dict) or not isinstance(version.get("openapi_schema"), dict):
        return version
    schemas = (version["openapi_schema"].get("components") or {}).get("schemas") or {}
    notes.add("versions' openapi_schema cut to components.schemas Input and Output")
    kept = {name: schemas[name] for name in ("Input", "Output") if name in schemas}
    return {**version, "openapi_schema": {"components": {"schemas": kept}}}


def reduce_body(uri, data, notes):
    data = reduce_prediction_like(reduce_value(data, notes), notes)
    if re.search(r"/models/[^/]+/[^/]+(/versions(/[^/?]+)?)?$", uri.split("?")[0]) and isinstance(data, dict):
        if isinstance(data.get("results"), list):
            data = {**data, "results": [reduce_schema(item, notes) for item in data["results"]]}
        else:
            data = reduce_schema(data, notes)
            if isinstance(data.get("latest_version"), dict):
                data = {**data, "latest_version": reduce_schema(data["latest_version"], notes)}
        if isinstance(data.get("default_example"), dict):
            data = {**data, "default_example": reduce_prediction_like(data["default_example"], notes)}
    return data


def request_body_keys(request):
    body = request.get("body")
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    if not body:
        return None
    try:
        parsed = json.loads(body)
    except ValueError:
        return ["(not JSON)"]
    return sorted(parsed.keys()) if isinstance(parsed, dict) else None


def reduce_cassette(text, notes):
    cassette = yaml.load(text, Loader=Loader)
    interactions = []
    for interaction in cassette.get("interactions") or []:
        request, response = interaction["request"], interaction["response"]
        uri = request["uri"]
        status = status_of(response)
        # Files downloaded from the delivery hosts are bytes, not answers the route reads.
        if not uri.startswith(API) or (SKIP.search(uri) and status < 400):
            continue
        raw = body_text(response)
        try:
            data = json.loads(raw) if raw.strip() else None
        except ValueError:
            data = raw
        entry = {
            "request": {"method": request["method"], "uri": uri},
            "response": {"status": status, "body": reduce_body(uri, data, notes)},
        }
        prefer = header(request.get("headers"), "prefer")
        if prefer:
            entry["request"]["prefer"] = prefer
        keys = request_body_keys(request)
        if keys:
            entry["request"]["bodyKeys"] = keys
        content_type = header(response.get("headers"), "content-type")
        if content_type:
            entry["response"]["contentType"] = content_type
        interactions.append(entry)
    return interactions


def slug(path):
    name = Path(path).stem
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def main(repo, out_dir):
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    commits = git(repo, "log", "--all", "--reverse", "--format=%H %cs", "--", "tests/cassettes").decode().split("\n")
    seen = {}
    written = 0
    for line in filter(None, commits):
        commit, date = line.split()
        listing = git(repo, "ls-tree", "-r", "--name-only", commit, "tests/cassettes").decode().split("\n")
        for path in filter(lambda p: p.endswith(".yaml"), listing):
            try:
                text = git(repo, "show", f"{commit}:{path}").decode("utf-8")
            except subprocess.CalledProcessError:
                print(f"skipped {path} at {commit[:7]}: not in this copy of the repository", file=sys.stderr)
                continue
            notes = set()
            interactions = reduce_cassette(text, notes)
            if not interactions:
                continue
            digest = hashlib.sha256(json.dumps(interactions, sort_keys=True).encode()).hexdigest()
            if digest in seen:
                continue
            seen[digest] = True
            fixture = {
                "source": {"repository": REPO, "path": path, "commit": commit, "date": date, "reduced": sorted(notes)},
                "interactions": interactions,
            }
            name = f"python-{slug(path)}-{commit[:7]}.json"
            (out / name).write_text(json.dumps(fixture, indent=1, ensure_ascii=False) + "\n")
            written += 1
    print(f"{written} fixtures written to {out}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
