#!/usr/bin/python3
"""Lays out the Secrets deploy/kubernetes/*.yaml mount, from a directory of keys made by
`loads-keys --dir DIR broker agent master` (docs/deploying.md, "Keys"): one folder per
Secret, holding the files the Secret would, owned by the pods' user (uid 10001) and
readable by it only, as `defaultMode: 0400` with `fsGroup` gives on a cluster. On a
cluster the same Secrets come from `kubectl create secret generic NAME --from-file=...`.

    deploy/podman/secrets.py KEYS_DIR SECRETS_DIR
"""
import os
import pathlib
import shutil
import sys

SECRETS = {  # Secret name: the key files it holds (see the manifests' volumes)
    "loads-broker-key": ["broker.key"],
    "loads-allowed-masters": ["master.pub"],
    "loads-allowed-agents": ["agent.pub"],
    "loads-agent-key": ["agent.key"],
    "loads-broker-pub": ["broker.pub"],
    "loads-master-key": ["master.key"],
}
POD_USER = 10001  # runAsUser and fsGroup of every manifest


def main():
    keys, out = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
    shutil.rmtree(out, ignore_errors=True)
    for name, files in SECRETS.items():
        folder = out / name
        folder.mkdir(parents=True)
        os.chown(folder, POD_USER, POD_USER)
        for f in files:
            shutil.copyfile(keys / f, folder / f)
            os.chown(folder / f, POD_USER, POD_USER)
            os.chmod(folder / f, 0o400 if f.endswith(".key") else 0o444)


main()
