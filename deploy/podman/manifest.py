#!/usr/bin/python3
"""What a user edits in deploy/kubernetes/*.yaml before applying them, done by script so
that deploy/podman/fleet.sh plays the manifests themselves. Every command takes the
directory SECRETS holding one folder per Secret the manifests name (secrets.py writes it)
and mounts that folder where the Secret would be: podman 4.3 mounts a Secret's data
still base64-encoded, so the Secrets reach the pods as host folders of the same files,
and it does not expand $(VAR) in args, so a command that uses one runs through sh.

    manifest.py broker broker.yaml SECRETS
        the broker Deployment as it is (podman ignores the Service: the broker's pod gets
        the network alias loads-broker instead)
    manifest.py agents agents.yaml SECRETS REPLICAS
        the agents Deployment with REPLICAS pods (kubectl scale does this on a cluster)
    manifest.py master master-job.yaml SECRETS TESTS_IMAGE REPORT_DIR [LOAD OPTIONS...]
        the master Job as a Pod (podman kube play runs Pods and Deployments, not Jobs):
        its init container takes the test library from TESTS_IMAGE, the Job's load
        options (--agents, -u, -d, --server-url, --wait-agents) are replaced by LOAD
        OPTIONS, the results address is the pod's name on the network (instead of the
        pod IP of the downward API), and the JSON report goes to REPORT_DIR.
"""
import re
import shlex
import sys

import yaml

# The Job's options that describe its load, each with the number of values it takes.
LOAD_OPTIONS = {"--agents": 1, "-u": 1, "-d": 1, "--hits": 1, "--server-url": 1,
                "--wait-agents": 1, "--quiet": 0}


def expand_env_references(pod_spec):
    """Kubernetes expands $(VAR) in command and args from the container's env; podman 4.3
    does not, so a container that uses one runs its command through sh, which does."""
    for c in pod_spec.get("containers", []):
        words = c.get("command", []) + c.get("args", [])
        if not any("$(" in w for w in words):
            continue
        line = " ".join('"' + re.sub(r"\$\((\w+)\)", r"${\1}", w) + '"' if "$(" in w
                        else shlex.quote(w) for w in words)
        c["command"] = ["/bin/sh", "-c", "exec " + line]
        c.pop("args", None)


def secrets_as_folders(pod_spec, secrets):
    for volume in pod_spec.get("volumes", []):
        if "secret" in volume:
            name = volume.pop("secret")["secretName"]
            volume["hostPath"] = {"path": f"{secrets}/{name}", "type": "Directory"}


def deployments(path, secrets, replicas=None):
    docs = [d for d in yaml.safe_load_all(open(path)) if d and d.get("kind") == "Deployment"]
    for d in docs:
        secrets_as_folders(d["spec"]["template"]["spec"], secrets)
        expand_env_references(d["spec"]["template"]["spec"])
        if replicas is not None:
            d["spec"]["replicas"] = int(replicas)
    yaml.safe_dump_all(docs, sys.stdout, sort_keys=False)


def without_load_options(args):
    kept, i = [], 0
    while i < len(args):
        if args[i] in LOAD_OPTIONS:
            i += 1 + LOAD_OPTIONS[args[i]]
        else:
            kept.append(args[i])
            i += 1
    return kept


def master(path, secrets, tests_image, report_dir, load):
    job = yaml.safe_load(open(path))
    spec = job["spec"]["template"]["spec"]
    secrets_as_folders(spec, secrets)
    spec["initContainers"][0]["image"] = tests_image
    container = spec["containers"][0]
    args = without_load_options(container["args"])
    i = args.index("--results-address")
    args[i + 1] = "tcp://loads-master:7790"
    if "--server-url" not in load:
        load = load + ["--server-url", "http://target:8080"]
    container["args"] = args + load + ["--wait-agents", "60s", "--json", "/reports/report.json"]
    container["env"] = [e for e in container.get("env", []) if e["name"] != "POD_IP"]
    container["volumeMounts"].append({"name": "reports", "mountPath": "/reports"})
    expand_env_references(spec)
    spec["volumes"].append({"name": "reports",
                            "hostPath": {"path": report_dir, "type": "Directory"}})
    pod = {"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": "loads-master", "labels": job["spec"]["template"]["metadata"]["labels"]},
           "spec": spec}
    yaml.safe_dump(pod, sys.stdout, sort_keys=False)


# Sizing from bench/RESULTS.md ("1,000 agents"): the broker and the master each stay well
# under one core at 1,000 agents; requests leave the margin for a busier cluster, and the
# master's memory grows with request names, not with agents.
FLEET_BROKER = {"requests": {"cpu": "500m", "memory": "256Mi"}, "limits": {"memory": "1Gi"}}
FLEET_MASTER = {"requests": {"cpu": "2", "memory": "1Gi"}, "limits": {"memory": "4Gi"}}
USERS_PER_AGENT = 20


def option(args, name, value):
    """args with `name` set to `value` (replaced when present, appended otherwise)."""
    if name in args:
        args[args.index(name) + 1] = value
        return args
    return args + [name, value]


def fleet(agents, out_dir):
    import os
    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "kubernetes")
    os.makedirs(out_dir, exist_ok=True)
    for name in ("broker.yaml", "agents.yaml", "master-job.yaml"):
        docs = [d for d in yaml.safe_load_all(open(os.path.join(here, name))) if d]
        for d in docs:
            if d["kind"] not in ("Deployment", "Job"):
                continue
            spec = d["spec"]
            container = spec["template"]["spec"]["containers"][0]
            component = spec["template"]["metadata"]["labels"]["app.kubernetes.io/component"]
            if component == "agent":
                spec["replicas"] = agents
            elif component == "broker":
                container["resources"] = FLEET_BROKER
            else:
                container["resources"] = FLEET_MASTER
                args = container["args"]
                for name_, value in (("--agents", str(agents)),
                                     ("-u", str(agents * USERS_PER_AGENT)),
                                     ("--wait-agents", "5m"), ("--results", "summary")):
                    args = option(args, name_, value)
                container["args"] = args
        with open(os.path.join(out_dir, name), "w") as out:
            out.write(f"# deploy/podman/manifest.py fleet {agents}: deploy/kubernetes/{name} "
                      f"sized for {agents} agents\n")
            yaml.safe_dump_all(docs, out, sort_keys=False)


if sys.argv[1] == "broker":
    deployments(sys.argv[2], sys.argv[3])
elif sys.argv[1] == "agents":
    deployments(sys.argv[2], sys.argv[3], sys.argv[4])
elif sys.argv[1] == "master":
    master(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6:])
elif sys.argv[1] == "fleet":
    fleet(int(sys.argv[2]), sys.argv[3])
else:
    sys.exit(__doc__)
