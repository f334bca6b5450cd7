// Drives the official Fabric client, @hyperledger/fabric-gateway over @grpc/grpc-js, against a
// peer as a Fabric application would: a TLS connection trusting the peer's TLS CA (and a client
// certificate under mutual TLS), an identity and private key read from an MSP folder
// (signcerts/, keystore/), the signer signers.newPrivateKeySigner. It evaluates the outbox's
// `nonce`, submits `dispatch` (endorse, submit, commit status), reads the chaincode events from
// a start block up to that transaction's, resumes them from a checkpoint after a second
// dispatch, reads the block events from the genesis block to the first dispatch's block, then
// evaluates an unknown function and submits a bad `dispatch` to see the errors the client
// reports.
//
// Input (stdin, JSON):
//   { "endpoint": "https://127.0.0.1:port", "tls_ca_pem": PEM, "server_name": optional name,
//     "msp": { "mspid", "path" (an MSP folder) }, "channel", "chaincode",
//     "client_tls": optional { "cert_pem", "key_pem" } (mutual TLS: block events then carry the
//                   certificate's hash, and are also tried without it),
//     "dispatch": [hex args], "bad_dispatch": [hex args], "events_start_block": number,
//     "timeout_ms": number }
// Output (stdout, JSON): see the object returned at the end.

import { X509Certificate, createHash, createPrivateKey } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { fromHex, hex, readInput, require, run } from './lib.mjs';

const grpc = require('@grpc/grpc-js');
const { checkpointers: checkpoints, connect, hash, signers } = require('@hyperledger/fabric-gateway');

/** The first file in an MSP subfolder (Fabric does not fix the file names). */
function firstFile(folder) {
    const names = readdirSync(folder).sort();
    if (names.length === 0) {
        throw new Error(`${folder} is empty`);
    }
    return readFileSync(join(folder, names[0]));
}

/** What the official client reports for a failed call. */
function describeError(error) {
    return {
        name: error?.constructor?.name ?? null,
        code: error?.code ?? null,
        message: String(error?.message ?? error),
        transaction_id: error?.transactionId ?? null,
        details: (error?.details ?? []).map?.((d) => ({ address: d.address, msp_id: d.mspId, message: d.message })) ?? [],
    };
}

/** Awaits `promise`, failing after `ms` with `what` in the message. */
function within(ms, what, promise) {
    let timer;
    const timeout = new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
    });
    return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

run(async () => {
    const input = await readInput();
    const timeoutMs = input.timeout_ms ?? 30000;
    const certificate = firstFile(join(input.msp.path, 'signcerts'));
    const privateKey = createPrivateKey(firstFile(join(input.msp.path, 'keystore')));
    const address = input.endpoint.replace(/^https?:\/\//, '');
    const options = input.server_name ? { 'grpc.ssl_target_name_override': input.server_name } : {};
    const credentials = input.client_tls
        ? grpc.credentials.createSsl(
              Buffer.from(input.tls_ca_pem, 'utf8'),
              Buffer.from(input.client_tls.key_pem, 'utf8'),
              Buffer.from(input.client_tls.cert_pem, 'utf8'),
          )
        : grpc.credentials.createSsl(Buffer.from(input.tls_ca_pem, 'utf8'));
    const client = new grpc.Client(address, credentials, options);
    const deadline = () => ({ deadline: Date.now() + timeoutMs });
    // Under mutual TLS, block events must carry SHA-256 of the client's TLS certificate (DER):
    // the option fabric-gateway documents as required then (ConnectOptions.tlsClientCertificateHash).
    const tlsClientCertificateHash = input.client_tls
        ? createHash('sha256').update(new X509Certificate(input.client_tls.cert_pem).raw).digest()
        : undefined;
    const connectOptions = {
        client,
        identity: { mspId: input.msp.mspid, credentials: certificate },
        signer: signers.newPrivateKeySigner(privateKey),
        hash: hash.sha256,
        evaluateOptions: deadline,
        endorseOptions: deadline,
        submitOptions: deadline,
        commitStatusOptions: deadline,
    };
    const gateway = connect({ ...connectOptions, tlsClientCertificateHash });
    try {
        const network = gateway.getNetwork(input.channel);
        const contract = network.getContract(input.chaincode);
        const text = (bytes) => Buffer.from(bytes).toString('utf8');

        // Evaluate.
        const nonceBefore = text(await contract.evaluateTransaction('nonce'));

        // Endorse, submit, commit status: the steps of submitTransaction, one by one so that
        // the prepared transaction the peer assembled can be returned too.
        const proposal = contract.newProposal('dispatch', { arguments: input.dispatch.map(fromHex) });
        const transaction = await proposal.endorse();
        const commit = await transaction.submit();
        const status = await commit.getStatus();
        const submitted = {
            transaction_id: transaction.getTransactionId(),
            proposal_transaction_id: proposal.getTransactionId(),
            result: hex(transaction.getResult()),
            prepared: hex(transaction.getBytes()),
            status: {
                code: status.code,
                successful: status.successful,
                block_number: status.blockNumber,
                transaction_id: status.transactionId,
            },
        };
        const nonceAfter = text(await contract.evaluateTransaction('nonce'));

        // Chaincode events from the start block, up to the one of our transaction.
        const events = [];
        let lastEvent = null;
        const eventStream = await network.getChaincodeEvents(input.chaincode, {
            startBlock: BigInt(input.events_start_block),
        });
        try {
            await within(timeoutMs, 'chaincode events', (async () => {
                for await (const event of eventStream) {
                    events.push({
                        block_number: event.blockNumber,
                        transaction_id: event.transactionId,
                        chaincode_name: event.chaincodeName,
                        event_name: event.eventName,
                        payload: hex(event.payload),
                    });
                    if (event.transactionId === submitted.transaction_id) {
                        lastEvent = event;
                        break;
                    }
                }
            })());
        } finally {
            eventStream.close();
        }

        // Resuming from a checkpoint (the official client's in-memory checkpointer, set at our
        // event): a second dispatch is the first event delivered, ours is skipped even though
        // the stream starts at its block (ChaincodeEventsRequest.after_transaction_id).
        const checkpointer = checkpoints.inMemory();
        await checkpointer.checkpointChaincodeEvent(lastEvent);
        const second = await contract.submitAsync('dispatch', { arguments: input.dispatch.map(fromHex) });
        const secondStatus = await second.getStatus();
        const resumedStream = await network.getChaincodeEvents(input.chaincode, { checkpoint: checkpointer });
        let resumed = null;
        try {
            await within(timeoutMs, 'resumed chaincode events', (async () => {
                for await (const event of resumedStream) {
                    resumed = {
                        block_number: event.blockNumber,
                        transaction_id: event.transactionId,
                        event_name: event.eventName,
                        payload: hex(event.payload),
                    };
                    break;
                }
            })());
        } finally {
            resumedStream.close();
        }
        const resumedFrom = {
            checkpoint: { block_number: checkpointer.getBlockNumber(), transaction_id: checkpointer.getTransactionId() },
            second: {
                transaction_id: second.getTransactionId(),
                result: hex(second.getResult()),
                code: secondStatus.code,
                block_number: secondStatus.blockNumber,
            },
            first_event: resumed,
        };

        // Block events from the genesis block up to the one that holds our transaction, as
        // common.Block messages.
        const blockStream = await network.getBlockEvents({ startBlock: BigInt(0) });
        const blocks = [];
        try {
            await within(timeoutMs, 'block events', (async () => {
                for await (const b of blockStream) {
                    blocks.push({ number: b.getHeader().getNumber(), bytes: hex(b.serializeBinary()) });
                    if (BigInt(b.getHeader().getNumber()) >= status.blockNumber) {
                        break;
                    }
                }
            })());
        } finally {
            blockStream.close();
        }

        // Under mutual TLS, block events without the certificate hash: the peer refuses them.
        let unboundBlockEvents = null;
        if (input.client_tls) {
            const unbound = connect(connectOptions);
            try {
                const stream = await unbound.getNetwork(input.channel).getBlockEvents({ startBlock: BigInt(0) });
                try {
                    await within(timeoutMs, 'unbound block events', (async () => {
                        for await (const b of stream) {
                            unboundBlockEvents = { unexpected_block: String(b.getHeader().getNumber()) };
                            break;
                        }
                    })());
                } finally {
                    stream.close();
                }
            } catch (error) {
                unboundBlockEvents = { error: describeError(error) };
            } finally {
                unbound.close();
            }
        }

        // A function the chaincode does not have: Evaluate fails.
        let evaluateError;
        try {
            const result = await contract.evaluateTransaction('no_such_function');
            evaluateError = { unexpected_result: hex(result) };
        } catch (error) {
            evaluateError = { error: describeError(error) };
        }

        // A dispatch the chaincode must refuse: Endorse fails.
        let badDispatch;
        try {
            const result = await contract.submitTransaction('dispatch', ...input.bad_dispatch.map(fromHex));
            badDispatch = { unexpected_result: hex(result) };
        } catch (error) {
            badDispatch = { error: describeError(error) };
        }
        const nonceAtEnd = text(await contract.evaluateTransaction('nonce'));

        return {
            identity: { mspid: input.msp.mspid, certificate: certificate.toString('utf8') },
            nonce_before: nonceBefore,
            nonce_after: nonceAfter,
            nonce_at_end: nonceAtEnd,
            submitted,
            events,
            resumed: resumedFrom,
            blocks,
            unbound_block_events: unboundBlockEvents,
            bad_evaluate: evaluateError,
            bad_dispatch: badDispatch,
        };
    } finally {
        gateway.close();
        client.close();
    }
});
