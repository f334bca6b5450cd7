// Compiles every Solidity source under contracts/src with the pinned solc-js (npm `solc`,
// installed into .tools/ by scripts/setup.sh) and writes one artifact per deployable contract:
//   <outDir>/<Name>.json = { "contractName", "abi", "bytecode", "deployedBytecode" }
// Settings are fixed so that the output is reproducible byte for byte: optimizer on (200 runs),
// evmVersion "cancun", no metadata hash in the bytecode, sources keyed by their path relative to
// contracts/ and fed in sorted order.
//
// Usage: node contracts/build.mjs [outDir]   (default: contracts/artifacts)
import { createRequire } from "node:module";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";

const CONTRACTS_DIR = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(CONTRACTS_DIR, "..");
const SOLC_VERSION = "0.8.30";

const require = createRequire(join(ROOT, ".tools", "package.json"));
let solc;
try {
  solc = require("solc");
} catch (e) {
  console.error(`error: solc-js not found in ${join(ROOT, ".tools")}; run scripts/setup.sh first (${e.message})`);
  process.exit(1);
}
if (!solc.version().startsWith(`${SOLC_VERSION}+`)) {
  console.error(`error: expected solc ${SOLC_VERSION}, found ${solc.version()}; run scripts/setup.sh`);
  process.exit(1);
}

/** Every .sol file under dir, as paths relative to contracts/ with forward slashes, sorted. */
function solidityFiles(dir) {
  const out = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...solidityFiles(path));
    else if (entry.name.endsWith(".sol")) out.push(relative(CONTRACTS_DIR, path).split(sep).join("/"));
  }
  return out.sort();
}

const outDir = resolve(process.argv[2] ?? join(CONTRACTS_DIR, "artifacts"));
const sources = {};
for (const file of solidityFiles(join(CONTRACTS_DIR, "src"))) {
  sources[file] = { content: readFileSync(join(CONTRACTS_DIR, file), "utf8") };
}

const input = {
  language: "Solidity",
  sources,
  settings: {
    optimizer: { enabled: true, runs: 200 },
    evmVersion: "cancun",
    metadata: { bytecodeHash: "none" },
    outputSelection: {
      "*": {
        "": ["ast"],
        "*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"],
      },
    },
  },
};

function noImports(path) {
  return { error: `import ${path} is outside contracts/src (all sources are passed to solc up front)` };
}

const output = JSON.parse(solc.compile(JSON.stringify(input), { import: noImports }));
const problems = output.errors ?? [];
for (const p of problems) console.error(p.formattedMessage ?? p.message);
if (problems.some((p) => p.severity === "error")) {
  console.error("error: compilation failed");
  process.exit(1);
}
if (problems.length > 0) {
  console.error("error: compilation produced warnings; fix them (artifacts must come from warning-free sources)");
  process.exit(1);
}

/** Names of the contracts declared as `library` or `abstract` (no artifact for those). */
function nonDeployable(ast) {
  const names = new Set();
  for (const node of ast.nodes ?? []) {
    if (node.nodeType === "ContractDefinition" && (node.contractKind !== "contract" || node.abstract)) {
      names.add(node.name);
    }
  }
  return names;
}

mkdirSync(outDir, { recursive: true });
const written = [];
for (const file of Object.keys(output.contracts ?? {}).sort()) {
  const skip = nonDeployable(output.sources[file].ast);
  for (const name of Object.keys(output.contracts[file]).sort()) {
    if (skip.has(name)) continue;
    const c = output.contracts[file][name];
    if (written.includes(name)) {
      console.error(`error: two contracts are named ${name}; artifact names must be unique`);
      process.exit(1);
    }
    const artifact = {
      contractName: name,
      abi: c.abi,
      bytecode: `0x${c.evm.bytecode.object}`,
      deployedBytecode: `0x${c.evm.deployedBytecode.object}`,
    };
    writeFileSync(join(outDir, `${name}.json`), `${JSON.stringify(artifact, null, 2)}\n`);
    written.push(name);
  }
}
console.log(`solc ${solc.version()}: wrote ${written.join(", ")} to ${relative(process.cwd(), outDir) || "."}`);
