// Shared helpers of the Fabric fidelity scripts: loading the pinned official packages from the
// node_modules folder that devnet/src/node.rs names in $CAUSEWAY_NODE_MODULES (default: the
// workspace's .tools/node_modules, where scripts/setup.sh installs them), reading the JSON input,
// and the checks every script shares (ECDSA P-256 signatures with node:crypto, Fabric's tx id).
//
// Nothing here decodes protobuf by hand: every message is parsed by @hyperledger/fabric-protos.

import { createHash, X509Certificate, verify } from 'node:crypto';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const nodeModules =
    process.env.CAUSEWAY_NODE_MODULES || join(here, '..', '..', '.tools', 'node_modules');
// A require() that resolves packages in that folder (and nowhere else): the packages are
// CommonJS, and ESM imports would not look there.
export const require = createRequire(join(nodeModules, 'fidelity-loader.js'));

export const protos = require('@hyperledger/fabric-protos');
export const { common, peer, msp, orderer, gateway: gatewayProtos } = protos;

/** Reads all of stdin and parses it as JSON. */
export async function readInput() {
    const chunks = [];
    for await (const chunk of process.stdin) {
        chunks.push(chunk);
    }
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

/** Prints `value` as the script's one JSON result (BigInts as decimal strings). */
export function writeOutput(value) {
    process.stdout.write(JSON.stringify(value, (_, v) => (typeof v === 'bigint' ? v.toString() : v)));
}

/** Runs `main`, printing its result; any error goes to stderr with exit code 1. */
export function run(main) {
    main().then(
        (value) => {
            writeOutput(value);
        },
        (error) => {
            process.stderr.write(`${error?.stack ?? error}\n`);
            if (error?.details) {
                process.stderr.write(`details: ${JSON.stringify(error.details)}\n`);
            }
            process.exitCode = 1;
        },
    );
}

export const hex = (bytes) => Buffer.from(bytes).toString('hex');
export const fromHex = (text) => Buffer.from(text.replace(/^0x/, ''), 'hex');
export const sha256 = (...parts) => {
    const h = createHash('sha256');
    for (const part of parts) {
        h.update(part);
    }
    return h.digest();
};

/** Fabric's transaction id: hex(SHA-256(nonce || creator)) (protoutil.ComputeTxID). */
export const txId = (nonce, creator) => hex(sha256(nonce, creator));

/** Decodes msp.SerializedIdentity bytes: the MSP id and the PEM certificate. */
export function serializedIdentity(bytes) {
    const identity = msp.SerializedIdentity.deserializeBinary(bytes);
    return {
        mspid: identity.getMspid(),
        certificate: Buffer.from(identity.getIdBytes_asU8()).toString('utf8'),
    };
}

/** The order of the P-256 group (SEC 2, section 2.4.2). */
const P256_N = BigInt('0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551');

/** Minimal DER INTEGER content for a non-negative BigInt. */
function derIntegerContent(value) {
    let text = value.toString(16);
    if (text.length % 2) {
        text = `0${text}`;
    }
    let bytes = Buffer.from(text, 'hex');
    if (bytes[0] & 0x80) {
        bytes = Buffer.concat([Buffer.from([0]), bytes]);
    }
    return bytes;
}

/** DER length octets. */
function derLength(length) {
    if (length < 0x80) {
        return Buffer.from([length]);
    }
    const bytes = [];
    for (let n = length; n > 0; n >>= 8) {
        bytes.unshift(n & 0xff);
    }
    return Buffer.from([0x80 | bytes.length, ...bytes]);
}

/** A DER TLV. */
export function der(tag, content) {
    return Buffer.concat([Buffer.from([tag]), derLength(content.length), content]);
}

/** DER INTEGER of a non-negative BigInt. */
export const derInteger = (value) => der(0x02, derIntegerContent(value));

/** Parses an ECDSA-Sig-Value (SEQUENCE { INTEGER r, INTEGER s }); null if malformed. */
function parseEcdsaDer(signature) {
    const sig = Buffer.from(signature);
    const readTlv = (buf, at) => {
        if (at + 2 > buf.length) {
            return null;
        }
        const tag = buf[at];
        let length = buf[at + 1];
        let start = at + 2;
        if (length & 0x80) {
            const count = length & 0x7f;
            if (count === 0 || count > 2 || start + count > buf.length) {
                return null;
            }
            length = 0;
            for (let i = 0; i < count; i += 1) {
                length = (length << 8) | buf[start + i];
            }
            start += count;
        }
        if (start + length > buf.length) {
            return null;
        }
        return { tag, start, end: start + length };
    };
    const seq = readTlv(sig, 0);
    if (!seq || seq.tag !== 0x30 || seq.end !== sig.length) {
        return null;
    }
    const r = readTlv(sig, seq.start);
    if (!r || r.tag !== 0x02) {
        return null;
    }
    const s = readTlv(sig, r.end);
    if (!s || s.tag !== 0x02 || s.end !== seq.end) {
        return null;
    }
    const int = (tlv) => BigInt(`0x${sig.subarray(tlv.start, tlv.end).toString('hex') || '0'}`);
    return { r: int(r), s: int(s) };
}

/**
 * Checks an ECDSA P-256 / SHA-256 DER signature over `message` against the certificate `pem`
 * with node:crypto, and the rules Fabric adds: S in the lower half of the group order (Fabric's
 * bccsp rejects high S), and strict DER (re-encoding r and s minimally gives the same bytes).
 */
export function checkSignature(pem, message, signature) {
    const certificate = new X509Certificate(pem);
    const key = certificate.publicKey;
    const parsed = parseEcdsaDer(signature);
    const strictDer =
        parsed !== null &&
        Buffer.compare(
            der(0x30, Buffer.concat([derInteger(parsed.r), derInteger(parsed.s)])),
            Buffer.from(signature),
        ) === 0;
    return {
        curve: key.asymmetricKeyDetails?.namedCurve ?? null,
        valid: verify('sha256', Buffer.from(message), { key, dsaEncoding: 'der' }, Buffer.from(signature)),
        low_s: parsed !== null && parsed.s <= P256_N / 2n,
        strict_der: strictDer,
    };
}

/** Fabric's block header hash: SHA-256 of DER SEQUENCE { INTEGER number, OCTET STRING
 *  previous_hash, OCTET STRING data_hash } (protoutil.BlockHeaderBytes). */
export function headerBytes(number, previousHash, dataHash) {
    return der(
        0x30,
        Buffer.concat([
            derInteger(BigInt(number)),
            der(0x04, Buffer.from(previousHash)),
            der(0x04, Buffer.from(dataHash)),
        ]),
    );
}

/** `message` re-serialized by fabric-protos equals `bytes` (same fields, numbers, order). */
export const reencodes = (message, bytes) =>
    Buffer.compare(Buffer.from(message.serializeBinary()), Buffer.from(bytes)) === 0;

/** A google.protobuf.Timestamp as {seconds, nanos}, or null. */
export const timestamp = (ts) => (ts ? { seconds: ts.getSeconds(), nanos: ts.getNanos() } : null);

/** The name of a common.HeaderType value. */
export function headerTypeName(type) {
    return Object.keys(common.HeaderType).find((k) => common.HeaderType[k] === type) ?? String(type);
}
