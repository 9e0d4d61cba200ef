#!/usr/bin/env bash
# deploy/kubernetes and deploy/Dockerfile validate offline (validate.mjs: the Kubernetes
# JSON schemas of kubernetes-models, cross-references, dockerfile-utils' linter), every
# option the manifests pass is one the installed binary knows, and the validator does
# refuse a broken copy. No container runtime here: the image itself is not built.
#   manifests_test.sh <build dir> <source dir>
set -euo pipefail
build=$1; src=$2
work="$build/test-output/deploy-manifests"
rm -rf "$work"; mkdir -p "$work"
cmake --install "$build" --prefix "$work/prefix" >/dev/null
source "$src/tests/deploy/options_check.sh"
cd "$src/tests/deploy"
[ -d node_modules/kubernetes-models ] || { echo "run npm ci in tests/deploy (scripts/setup.sh does)"; exit 1; }

node validate.mjs "$src/deploy" > "$work/options"
check_options "$work/prefix" < "$work/options"

# The manifests sized for 1,000 agents (manifest.py fleet, docs/deploying.md) validate too.
mkdir -p "$work/fleet"
cp "$src/deploy/Dockerfile" "$work/fleet/"
/usr/bin/python3 "$src/deploy/podman/manifest.py" fleet 1000 "$work/fleet/kubernetes"
grep -q "replicas: 1000" "$work/fleet/kubernetes/agents.yaml" || { echo "FAIL: fleet replicas"; exit 1; }
node validate.mjs "$work/fleet" > "$work/fleet-options"
check_options "$work/prefix" < "$work/fleet-options"

# A broken copy: a string where the schema wants an integer, a mount of no volume, an
# unknown Dockerfile flag. Each must be reported.
mkdir -p "$work/broken/kubernetes"
sed 's/replicas: 2/replicas: "2"/' "$src/deploy/kubernetes/agents.yaml" \
  > "$work/broken/kubernetes/agents.yaml"
sed 's/name: key, mountPath/name: kee, mountPath/' "$src/deploy/kubernetes/broker.yaml" \
  > "$work/broken/kubernetes/broker.yaml"
sed 's/COPY --from=build/COPY --form=build/' "$src/deploy/Dockerfile" > "$work/broken/Dockerfile"
if node validate.mjs "$work/broken" > /dev/null 2> "$work/broken.log"; then
  echo "FAIL: the broken copy validated"; exit 1
fi
for expected in "spec/replicas must be integer" "mounts unknown volume kee" "Unknown flag: form"; do
  grep -q "$expected" "$work/broken.log" || { echo "FAIL: not reported: $expected"; cat "$work/broken.log"; exit 1; }
done
echo "a broken copy is refused: $(grep -c . "$work/broken.log") lines"
