// Decodes the requests our Fabric adapter signs with @hyperledger/fabric-protos, recomputes
// their transaction ids and verifies their signatures with node:crypto against the creator's
// certificate; and builds the same requests with the official client @hyperledger/fabric-gateway
// (offline: its builders never touch the network) so the Rust test can compare both.
//
// Input (stdin, JSON; every byte string is hex):
//   { "proposals": [SignedProposal], "prepared": [Envelope], "commit_status": [SignedCommitStatusRequest],
//     "chaincode_events": [SignedChaincodeEventsRequest], "seek": [Envelope],
//     "official": { "mspid", "certificate" (PEM), "channel", "chaincode", "function",
//                   "args": [hex], "transient": {name: hex}, "start_block": number } }
// Output (stdout, JSON): the same keys, each entry decoded (see the functions below).

import {
    checkSignature,
    common,
    fromHex,
    gatewayProtos,
    headerTypeName,
    hex,
    orderer,
    peer,
    readInput,
    reencodes,
    require,
    run,
    serializedIdentity,
    timestamp,
    txId,
} from './lib.mjs';

/** common.Header (ChannelHeader and SignatureHeader inside), with the recomputed tx id. */
function decodeHeader(header) {
    const channelHeaderBytes = header.getChannelHeader_asU8();
    const signatureHeaderBytes = header.getSignatureHeader_asU8();
    const channelHeader = common.ChannelHeader.deserializeBinary(channelHeaderBytes);
    const signatureHeader = common.SignatureHeader.deserializeBinary(signatureHeaderBytes);
    const extensionBytes = channelHeader.getExtension_asU8();
    let extension = null;
    if (channelHeader.getType() === common.HeaderType.ENDORSER_TRANSACTION) {
        const ext = peer.ChaincodeHeaderExtension.deserializeBinary(extensionBytes);
        extension = { chaincode_id: chaincodeId(ext.getChaincodeId()), reencodes: reencodes(ext, extensionBytes) };
    }
    const creatorBytes = signatureHeader.getCreator_asU8();
    const nonce = signatureHeader.getNonce_asU8();
    return {
        channel_header: {
            type: channelHeader.getType(),
            type_name: headerTypeName(channelHeader.getType()),
            version: channelHeader.getVersion(),
            timestamp: timestamp(channelHeader.getTimestamp()),
            channel_id: channelHeader.getChannelId(),
            tx_id: channelHeader.getTxId(),
            epoch: channelHeader.getEpoch(),
            extension,
            extension_hex: hex(extensionBytes),
            tls_cert_hash: hex(channelHeader.getTlsCertHash_asU8()),
        },
        signature_header: {
            creator: creatorBytes.length ? serializedIdentity(creatorBytes) : null,
            creator_hex: hex(creatorBytes),
            nonce: hex(nonce),
        },
        // hex(SHA-256(nonce || creator)), computed here.
        computed_tx_id: txId(nonce, creatorBytes),
        reencodes:
            reencodes(header, header.serializeBinary()) &&
            reencodes(channelHeader, channelHeaderBytes) &&
            reencodes(signatureHeader, signatureHeaderBytes),
    };
}

const chaincodeId = (id) => (id ? { name: id.getName(), path: id.getPath(), version: id.getVersion() } : null);

/** peer.Proposal bytes: header, ChaincodeProposalPayload -> ChaincodeInvocationSpec. */
function decodeProposal(proposalBytes) {
    const proposal = peer.Proposal.deserializeBinary(proposalBytes);
    const headerBytes = proposal.getHeader_asU8();
    const header = common.Header.deserializeBinary(headerBytes);
    const payloadBytes = proposal.getPayload_asU8();
    const payload = peer.ChaincodeProposalPayload.deserializeBinary(payloadBytes);
    const inputBytes = payload.getInput_asU8();
    const invocation = peer.ChaincodeInvocationSpec.deserializeBinary(inputBytes);
    const spec = invocation.getChaincodeSpec();
    const input = spec?.getInput();
    const transient = {};
    payload.getTransientmapMap().forEach((value, key) => {
        transient[key] = hex(value);
    });
    const decodedHeader = decodeHeader(header);
    return {
        header: decodedHeader,
        payload: {
            chaincode_spec: spec
                ? {
                      type: spec.getType(),
                      chaincode_id: chaincodeId(spec.getChaincodeId()),
                      args: (input?.getArgsList_asU8() ?? []).map(hex),
                      decorations: input ? input.getDecorationsMap().getLength() : 0,
                      is_init: input?.getIsInit() ?? false,
                      timeout: spec.getTimeout(),
                  }
                : null,
            transient_map: transient,
        },
        extension_hex: hex(proposal.getExtension_asU8()),
        reencodes:
            decodedHeader.reencodes &&
            reencodes(proposal, proposalBytes) &&
            reencodes(header, headerBytes) &&
            reencodes(payload, payloadBytes) &&
            reencodes(invocation, inputBytes),
    };
}

/** The creator's certificate (PEM) from a decoded header. */
const creatorCertificate = (decodedHeader) => decodedHeader.signature_header.creator?.certificate;

/** A SignedProposal as Evaluate and Endorse carry it. */
function decodeSignedProposal(bytes) {
    const signed = peer.SignedProposal.deserializeBinary(bytes);
    const proposalBytes = signed.getProposalBytes_asU8();
    const proposal = decodeProposal(proposalBytes);
    return {
        proposal,
        signature: checkSignature(creatorCertificate(proposal.header), proposalBytes, signed.getSignature_asU8()),
        reencodes: reencodes(signed, bytes),
    };
}

/** A signed common.Envelope: a prepared transaction for Submit, or a Deliver seek request. */
function decodeEnvelope(bytes) {
    const envelope = common.Envelope.deserializeBinary(bytes);
    const payloadBytes = envelope.getPayload_asU8();
    const payload = common.Payload.deserializeBinary(payloadBytes);
    const header = decodeHeader(payload.getHeader());
    const data = payload.getData_asU8();
    let seekInfo = null;
    let transaction = null;
    if (header.channel_header.type === common.HeaderType.DELIVER_SEEK_INFO) {
        const seek = orderer.SeekInfo.deserializeBinary(data);
        // uint64 fields come back as JS numbers (google-protobuf's default), so a stop block of
        // 2^64-1 reads as 18446744073709552000: the Rust side compares as f64.
        seekInfo = {
            start: seekPosition(seek.getStart()),
            stop: seekPosition(seek.getStop()),
            behavior: seek.getBehavior(),
            error_response: seek.getErrorResponse(),
            content_type: seek.getContentType(),
        };
    } else if (header.channel_header.type === common.HeaderType.ENDORSER_TRANSACTION) {
        const tx = peer.Transaction.deserializeBinary(data);
        // The official client's own parse of a prepared transaction (Gateway.newTransaction, its
        // offline-signing API): it reads the channel from the header and the chaincode result
        // from the first action's ChaincodeAction.response, and digests the payload to sign.
        const prepared = new gatewayProtos.PreparedTransaction();
        prepared.setTransactionId(header.channel_header.tx_id);
        prepared.setEnvelope(envelope);
        const official = withOfflineGateway(header.signature_header.creator, (gateway) => {
            const parsed = gateway.newTransaction(prepared.serializeBinary());
            return {
                transaction_id: parsed.getTransactionId(),
                result: hex(parsed.getResult()),
                digest: hex(parsed.getDigest()),
            };
        });
        transaction = {
            actions: tx.getActionsList().length,
            official,
            reencodes: reencodes(tx, data),
        };
    }
    return {
        header,
        seek_info: seekInfo,
        transaction,
        signature: checkSignature(creatorCertificate(header), payloadBytes, envelope.getSignature_asU8()),
        reencodes: reencodes(envelope, bytes) && reencodes(payload, payloadBytes),
    };
}

function seekPosition(position) {
    if (!position) {
        return null;
    }
    switch (position.getTypeCase()) {
        case orderer.SeekPosition.TypeCase.SPECIFIED:
            return { specified: position.getSpecified().getNumber() };
        case orderer.SeekPosition.TypeCase.NEWEST:
            return { newest: true };
        case orderer.SeekPosition.TypeCase.OLDEST:
            return { oldest: true };
        case orderer.SeekPosition.TypeCase.NEXT_COMMIT:
            return { next_commit: true };
        default:
            return { unset: true };
    }
}

/** gateway.SignedCommitStatusRequest. */
function decodeCommitStatus(bytes) {
    const signed = gatewayProtos.SignedCommitStatusRequest.deserializeBinary(bytes);
    const requestBytes = signed.getRequest_asU8();
    const request = gatewayProtos.CommitStatusRequest.deserializeBinary(requestBytes);
    const identity = serializedIdentity(request.getIdentity_asU8());
    return {
        transaction_id: request.getTransactionId(),
        channel_id: request.getChannelId(),
        identity,
        signature: checkSignature(identity.certificate, requestBytes, signed.getSignature_asU8()),
        reencodes: reencodes(signed, bytes) && reencodes(request, requestBytes),
    };
}

/** gateway.SignedChaincodeEventsRequest. */
function decodeChaincodeEvents(bytes) {
    const signed = gatewayProtos.SignedChaincodeEventsRequest.deserializeBinary(bytes);
    const requestBytes = signed.getRequest_asU8();
    const request = gatewayProtos.ChaincodeEventsRequest.deserializeBinary(requestBytes);
    const identity = serializedIdentity(request.getIdentity_asU8());
    return {
        channel_id: request.getChannelId(),
        chaincode_id: request.getChaincodeId(),
        identity,
        start_position: seekPosition(request.getStartPosition()),
        after_transaction_id: request.getAfterTransactionId(),
        request_hex: hex(requestBytes),
        signature: checkSignature(identity.certificate, requestBytes, signed.getSignature_asU8()),
        reencodes: reencodes(signed, bytes) && reencodes(request, requestBytes),
    };
}

/**
 * Runs `use` with an official Gateway object for `identity` ({mspid, certificate}) that never
 * talks to a peer: the offline builders and parsers need a gRPC client object but never call it,
 * and nothing here asks the signer to sign.
 */
function withOfflineGateway(identity, use) {
    const grpc = require('@grpc/grpc-js');
    const { connect } = require('@hyperledger/fabric-gateway');
    const client = new grpc.Client('127.0.0.1:9', grpc.credentials.createInsecure());
    const gateway = connect({
        client,
        identity: { mspId: identity.mspid, credentials: Buffer.from(identity.certificate, 'utf8') },
        signer: () => Promise.reject(new Error('the offline builders never sign')),
    });
    try {
        return use(gateway);
    } finally {
        gateway.close();
        client.close();
    }
}

/** The official client's own requests for the same identity and invocation. */
function official(spec) {
    return withOfflineGateway(spec, (gateway) => {
        const network = gateway.getNetwork(spec.channel);
        const transientData = {};
        for (const [key, value] of Object.entries(spec.transient ?? {})) {
            transientData[key] = fromHex(value);
        }
        const proposal = network.getContract(spec.chaincode).newProposal(spec.function, {
            arguments: spec.args.map(fromHex),
            transientData,
        });
        const proposed = gatewayProtos.ProposedTransaction.deserializeBinary(proposal.getBytes());
        const events = network.newChaincodeEventsRequest(spec.chaincode, { startBlock: BigInt(spec.start_block) });
        const signedEvents = gatewayProtos.SignedChaincodeEventsRequest.deserializeBinary(events.getBytes());
        const blocks = network.newBlockEventsRequest({ startBlock: BigInt(spec.start_block) });
        const blocksEnvelope = common.Envelope.deserializeBinary(blocks.getBytes());
        const blocksPayload = common.Payload.deserializeBinary(blocksEnvelope.getPayload_asU8());
        const blocksSeek = orderer.SeekInfo.deserializeBinary(blocksPayload.getData_asU8());
        return {
            transaction_id: proposal.getTransactionId(),
            proposal: decodeProposal(proposed.getProposal().getProposalBytes_asU8()),
            // The exact bytes it signs, for a byte-for-byte comparison with ours rebuilt with its
            // nonce and time.
            proposal_hex: hex(proposed.getProposal().getProposalBytes_asU8()),
            chaincode_events_request_hex: hex(signedEvents.getRequest_asU8()),
            block_events: {
                header: decodeHeader(blocksPayload.getHeader()),
                seek_info: {
                    start: seekPosition(blocksSeek.getStart()),
                    stop: seekPosition(blocksSeek.getStop()),
                    behavior: blocksSeek.getBehavior(),
                },
            },
        };
    });
}

run(async () => {
    const input = await readInput();
    const each = (key, decode) => (input[key] ?? []).map((text) => decode(fromHex(text)));
    return {
        proposals: each('proposals', decodeSignedProposal),
        prepared: each('prepared', decodeEnvelope),
        commit_status: each('commit_status', decodeCommitStatus),
        chaincode_events: each('chaincode_events', decodeChaincodeEvents),
        seek: each('seek', decodeEnvelope),
        official: input.official ? official(input.official) : null,
    };
});
