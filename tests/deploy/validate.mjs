// Validates deploy/ offline: every Kubernetes manifest against the Kubernetes JSON
// schemas (kubernetes-models), plus the cross-references the schemas cannot see; the
// Dockerfile with dockerfile-utils' linter. Prints "binary option" for every option the
// manifests pass to a loads binary (options_test checks them against --help).
//   node validate.mjs DEPLOY_DIR
// Exits 1 with one line per problem. The schemas do not forbid unknown fields: a
// misspelt optional field passes here (kubectl apply --validate=strict catches it).
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { validate as lintDockerfile } from "dockerfile-utils";

const deploy = process.argv[2];
const problems = [];
const options = [];

async function model(apiVersion, kind) {
  const path = apiVersion.includes("/") ? apiVersion : `v1`;
  const module = await import(`kubernetes-models/${path}/${kind}`);
  return module[kind];
}

function podSpecOf(object) {
  if (object.kind === "Deployment" || object.kind === "Job") return object.spec.template.spec;
  return null;
}

// What the schemas cannot check: names that must refer to each other.
function crossCheck(where, object, labelSets) {
  const pod = podSpecOf(object);
  if (!pod) return;
  const selector = object.spec.selector?.matchLabels ?? {};
  const labels = object.spec.template.metadata?.labels ?? {};
  for (const [k, v] of Object.entries(selector)) {
    if (labels[k] !== v) problems.push(`${where}: selector ${k}=${v} does not match the pod's labels`);
  }
  labelSets.push(labels);
  const volumes = new Set((pod.volumes ?? []).map((v) => v.name));
  for (const c of [...(pod.initContainers ?? []), ...pod.containers]) {
    for (const m of c.volumeMounts ?? []) {
      if (!volumes.has(m.name)) problems.push(`${where}: ${c.name} mounts unknown volume ${m.name}`);
    }
    const env = new Set((c.env ?? []).map((e) => e.name));
    for (const arg of [...(c.command ?? []), ...(c.args ?? [])]) {
      for (const [, name] of String(arg).matchAll(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g)) {
        if (!env.has(name)) problems.push(`${where}: ${c.name} uses $(${name}), not in its env`);
      }
    }
    const binary = c.command?.[0];
    if (binary?.startsWith("loads-")) {
      for (const arg of c.args ?? []) {
        if (/^--[a-z]/.test(arg)) options.push(`${binary} ${arg}`);
      }
    }
  }
}

function checkServices(services, labelSets) {
  for (const [where, service] of services) {
    const selector = Object.entries(service.spec.selector ?? {});
    if (!labelSets.some((labels) => selector.every(([k, v]) => labels[k] === v))) {
      problems.push(`${where}: the Service selects no pod of these manifests`);
    }
  }
}

async function checkManifests() {
  const dir = join(deploy, "kubernetes");
  const labelSets = [];
  const services = [];
  let count = 0;
  for (const file of readdirSync(dir).filter((f) => f.endsWith(".yaml")).sort()) {
    for (const doc of parseAllDocuments(readFileSync(join(dir, file), "utf8"))) {
      if (doc.errors.length) {
        problems.push(`${file}: ${doc.errors[0].message}`);
        continue;
      }
      const object = doc.toJS();
      const where = `${file} ${object.kind}/${object.metadata?.name}`;
      try {
        (new (await model(object.apiVersion, object.kind))(object)).validate();
      } catch (e) {
        problems.push(`${where}: ${e.message}`);
        continue;
      }
      ++count;
      if (object.kind === "Service") services.push([where, object]);
      crossCheck(where, object, labelSets);
    }
  }
  checkServices(services, labelSets);
  console.error(`kubernetes: ${count} objects valid`);
}

function checkDockerfile() {
  const file = join(deploy, "Dockerfile");
  const text = readFileSync(file, "utf8");
  const diagnostics = lintDockerfile(text);
  for (const d of diagnostics) {
    problems.push(`Dockerfile:${d.range.start.line + 1}: ${d.message}`);
  }
  console.error(`Dockerfile: ${diagnostics.length} lint findings`);
}

await checkManifests();
checkDockerfile();
for (const o of options) console.log(o);
for (const p of problems) console.error(p);
process.exit(problems.length ? 1 : 0);
