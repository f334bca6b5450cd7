// Compiles Hyperlane's Mailbox and StaticMessageIdMultisigIsm(Factory) from the pinned npm package
// @hyperlane-xyz/core (installed by scripts/setup-hyperlane.sh into bench/hyperlane/node_modules),
// with the project's solc-js and settings (contracts/build.mjs: 0.8.30, optimizer 200 runs,
// cancun, no metadata hash), plus the bench's own recipient and batcher (bench/hyperlane/src).
// Writes bench/hyperlane/artifacts/<Name>.json = { contractName, abi, bytecode, deployedBytecode }.
// Warnings are printed, not fatal: the sources are Hyperlane's.
//
// Usage: node bench/hyperlane/build.mjs
import { createRequire } from "node:module";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, "..", "..");
const CORE = join(HERE, "node_modules", "@hyperlane-xyz", "core");
const require = createRequire(join(ROOT, ".tools", "package.json"));
const solc = require("solc");
if (!solc.version().startsWith("0.8.30+")) {
  console.error(`error: expected solc 0.8.30, found ${solc.version()}; run scripts/setup.sh`);
  process.exit(1);
}
if (!existsSync(join(CORE, "contracts", "Mailbox.sol"))) {
  console.error("error: @hyperlane-xyz/core not installed; run scripts/setup-hyperlane.sh");
  process.exit(1);
}

/** Where an import path lives: the package's contracts, its vendored OpenZeppelin, or ours. */
function locate(path) {
  const vendored = [
    ["@openzeppelin/contracts-upgradeable/", "dependencies/@openzeppelin-contracts-upgradeable-4.9.3/contracts/"],
    ["@openzeppelin/contracts/", "dependencies/@openzeppelin-contracts-4.9.3/contracts/"],
  ];
  for (const [prefix, dir] of vendored) {
    if (path.startsWith(prefix)) return join(CORE, dir, path.slice(prefix.length));
  }
  if (path.startsWith("contracts/")) return join(CORE, path);
  if (path.startsWith("bench/")) return join(HERE, path.slice("bench/".length));
  return null;
}

const sources = {
  "contracts/Mailbox.sol": { content: readFileSync(locate("contracts/Mailbox.sol"), "utf8") },
  "contracts/isms/multisig/StaticMultisigIsm.sol": {
    content: readFileSync(locate("contracts/isms/multisig/StaticMultisigIsm.sol"), "utf8"),
  },
};
for (const f of readdirSync(join(HERE, "src")).sort()) {
  sources[`bench/src/${f}`] = { content: readFileSync(join(HERE, "src", f), "utf8") };
}
const input = {
  language: "Solidity",
  sources,
  settings: {
    optimizer: { enabled: true, runs: 200 },
    evmVersion: "cancun",
    metadata: { bytecodeHash: "none" },
    outputSelection: { "*": { "*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"] } },
  },
};
function findImports(path) {
  const file = locate(path);
  if (file && existsSync(file)) return { contents: readFileSync(file, "utf8") };
  return { error: `not found: ${path}` };
}
const output = JSON.parse(solc.compile(JSON.stringify(input), { import: findImports }));
const errors = (output.errors ?? []).filter((e) => e.severity === "error");
for (const e of errors) console.error(e.formattedMessage ?? e.message);
if (errors.length > 0) process.exit(1);
const warnings = (output.errors ?? []).length;
const wanted = {
  "contracts/Mailbox.sol": ["Mailbox"],
  "contracts/isms/multisig/StaticMultisigIsm.sol": ["StaticMessageIdMultisigIsmFactory"],
  "bench/src/HyperlaneExampleRecipient.sol": ["HyperlaneExampleRecipient"],
  "bench/src/ProcessBatcher.sol": ["ProcessBatcher"],
};
const out = join(HERE, "artifacts");
mkdirSync(out, { recursive: true });
for (const [file, names] of Object.entries(wanted)) {
  for (const name of names) {
    const c = output.contracts[file][name];
    const artifact = {
      contractName: name,
      abi: c.abi,
      bytecode: `0x${c.evm.bytecode.object}`,
      deployedBytecode: `0x${c.evm.deployedBytecode.object}`,
    };
    writeFileSync(join(out, `${name}.json`), `${JSON.stringify(artifact, null, 2)}\n`);
  }
}
console.log(`solc ${solc.version()}: wrote ${Object.values(wanted).flat().join(", ")} to bench/hyperlane/artifacts (${warnings} warnings in Hyperlane's sources)`);
