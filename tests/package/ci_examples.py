#!/usr/bin/env python3
"""Package.CiExamplesAreWellFormedAndRunTheSweep: DEPLOY_CI_DIR

The GitHub Actions workflow passes yamllint and has the shape Actions needs (a weekly
schedule with a valid 5-field cron, a job with steps that run the executed failover and keep
the JUnit report); the Jenkinsfile has balanced blocks, a valid cron trigger, the same command
and publishes the JUnit report. No actionlint or Groovy parser is packaged in Debian 12: this is
the check the issue allows ("at least for syntax")."""
import re
import subprocess
import sys

import yaml

RANGES = [(0, 59), (0, 23), (1, 31), (1, 12), (0, 7)]


def cron_ok(expr):
    fields = expr.split()
    if len(fields) != 5:
        return False
    for field, (lo, hi) in zip(fields, RANGES):
        for part in field.split(","):
            part = re.sub(r"^H(\(\d+-\d+\))?", "0", part)  # Jenkins' hash
            base, _, step = part.partition("/")
            if step and not step.isdigit():
                return False
            if base == "*":
                continue
            nums = base.split("-")
            if not all(n.isdigit() and lo <= int(n) <= hi for n in nums) or len(nums) > 2:
                return False
    return True


def main(ci_dir):
    errors = []
    wf_path = f"{ci_dir}/github-staging-sweep.yml"
    lint = subprocess.run(["yamllint", "-d", "{extends: default, rules: {line-length: {max: 120}, truthy: disable, document-start: disable, comments: {min-spaces-from-content: 1}}}", wf_path],
                          capture_output=True, text=True)
    if lint.returncode != 0:
        errors.append(f"yamllint {wf_path}:\n{lint.stdout}{lint.stderr}")
    wf = yaml.safe_load(open(wf_path))
    on = wf.get("on") or wf.get(True)
    crons = [s.get("cron", "") for s in (on or {}).get("schedule", [])]
    if not crons or not all(cron_ok(c) for c in crons):
        errors.append(f"{wf_path}: on.schedule needs valid 5-field cron expressions, got {crons}")
    jobs = wf.get("jobs") or {}
    steps = [s for j in jobs.values() for s in j.get("steps", [])]
    runs = "\n".join(s.get("run", "") for s in steps)
    if "run --execute" not in runs or "-o junit" not in runs:
        errors.append(f"{wf_path}: no step runs `failoverctl ... run --execute` and writes the JUnit report")
    if not any("junit" in str(s.get("with", {})) for s in steps):
        errors.append(f"{wf_path}: no step publishes the JUnit report")
    jf_path = f"{ci_dir}/Jenkinsfile"
    jf = open(jf_path).read()
    code = re.sub(r"'''.*?'''", "''", jf, flags=re.S)
    code = re.sub(r"//.*", "", code)
    code = re.sub(r"'[^'\n]*'", "''", code)
    for o, c in ("{}", "()", "[]"):
        if code.count(o) != code.count(c):
            errors.append(f"{jf_path}: unbalanced {o}{c}: {code.count(o)} vs {code.count(c)}")
    m = re.search(r"cron\('([^']*)'\)", jf)
    if not m or not cron_ok(m.group(1)):
        errors.append(f"{jf_path}: triggers needs cron('...') with a valid expression")
    for needle in ("run --execute", "-o junit", "junit testResults:"):
        if needle not in jf:
            errors.append(f"{jf_path}: lacks {needle!r}")
    for e in errors:
        print(e, file=sys.stderr)
    if not errors:
        print(f"ok: {wf_path} and {jf_path}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
