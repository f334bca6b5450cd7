// Decodes Fabric blocks with @hyperledger/fabric-protos and recomputes, independently of our Rust
// code, what a Fabric peer checks: the header hash (SHA-256 of the DER header), the data hash
// (SHA-256 of the concatenated data entries), every transaction's id (SHA-256(nonce || creator))
// and creator signature, every endorsement signature (over proposal_response_payload ||
// endorser), the orderer's block signature (over metadata value || signature header || DER
// header), the chaincode events and the read/write sets.
//
// Input (stdin, JSON): { "blocks": [hex of common.Block], "headers_only": bool (optional: skip
// the data entries' contents, for blocks whose entries are not envelopes) }
// Output (stdout, JSON): { "blocks": [decoded block] }

import {
    checkSignature,
    common,
    fromHex,
    headerBytes,
    headerTypeName,
    hex,
    peer,
    protos,
    readInput,
    reencodes,
    run,
    serializedIdentity,
    sha256,
    timestamp,
    txId,
} from './lib.mjs';

const { rwset } = protos.ledger;

/** A signature check, or the reason it could not be made (no or unparsable certificate). */
function tryCheck(identityBytes, message, signature) {
    try {
        const identity = serializedIdentity(identityBytes);
        return { mspid: identity.mspid, ...checkSignature(identity.certificate, message, signature) };
    } catch (error) {
        return { error: String(error?.message ?? error) };
    }
}

/** The orderer signatures in the SIGNATURES metadata. */
function blockSignatures(metadataBytes, headerDer) {
    if (!metadataBytes || metadataBytes.length === 0) {
        return { value: '', signatures: [] };
    }
    const metadata = common.Metadata.deserializeBinary(metadataBytes);
    const value = metadata.getValue_asU8();
    return {
        value: hex(value),
        signatures: metadata.getSignaturesList().map((signature) => {
            const signatureHeader = signature.getSignatureHeader_asU8();
            const identifierHeader = signature.getIdentifierHeader_asU8();
            if (signatureHeader.length === 0) {
                return { identifier_header: hex(identifierHeader) };
            }
            const creator = common.SignatureHeader.deserializeBinary(signatureHeader).getCreator_asU8();
            return tryCheck(creator, Buffer.concat([value, signatureHeader, headerDer]), signature.getSignature_asU8());
        }),
    };
}

function decodeRwset(bytes) {
    if (bytes.length === 0) {
        return [];
    }
    const txRwset = rwset.TxReadWriteSet.deserializeBinary(bytes);
    return txRwset.getNsRwsetList().map((ns) => {
        const kv = rwset.kvrwset.KVRWSet.deserializeBinary(ns.getRwset_asU8());
        return {
            namespace: ns.getNamespace(),
            reads: kv.getReadsList().map((read) => ({
                key: read.getKey(),
                version: read.getVersion()
                    ? { block_num: read.getVersion().getBlockNum(), tx_num: read.getVersion().getTxNum() }
                    : null,
            })),
            writes: kv.getWritesList().map((write) => ({
                key: write.getKey(),
                is_delete: write.getIsDelete(),
                value: hex(write.getValue_asU8()),
            })),
        };
    });
}

function decodeEndorserTransaction(data) {
    const transaction = peer.Transaction.deserializeBinary(data);
    return transaction.getActionsList().map((action) => {
        const actionPayload = peer.ChaincodeActionPayload.deserializeBinary(action.getPayload_asU8());
        const endorsed = actionPayload.getAction();
        const prpBytes = endorsed.getProposalResponsePayload_asU8();
        const prp = peer.ProposalResponsePayload.deserializeBinary(prpBytes);
        const chaincodeAction = peer.ChaincodeAction.deserializeBinary(prp.getExtension_asU8());
        const eventBytes = chaincodeAction.getEvents_asU8();
        let event = null;
        if (eventBytes.length > 0) {
            const e = peer.ChaincodeEvent.deserializeBinary(eventBytes);
            event = {
                chaincode_id: e.getChaincodeId(),
                tx_id: e.getTxId(),
                event_name: e.getEventName(),
                payload: hex(e.getPayload_asU8()),
            };
        }
        const response = chaincodeAction.getResponse();
        const id = chaincodeAction.getChaincodeId();
        const proposalPayload = peer.ChaincodeProposalPayload.deserializeBinary(
            actionPayload.getChaincodeProposalPayload_asU8(),
        );
        const spec = peer.ChaincodeInvocationSpec.deserializeBinary(proposalPayload.getInput_asU8()).getChaincodeSpec();
        return {
            proposal_hash: hex(prp.getProposalHash_asU8()),
            chaincode_id: id ? { name: id.getName(), version: id.getVersion() } : null,
            invoked: spec?.getChaincodeId()?.getName() ?? null,
            args: (spec?.getInput()?.getArgsList_asU8() ?? []).map(hex),
            response: response
                ? { status: response.getStatus(), message: response.getMessage(), payload: hex(response.getPayload_asU8()) }
                : null,
            event,
            rwset: decodeRwset(chaincodeAction.getResults_asU8()),
            endorsements: endorsed.getEndorsementsList().map((endorsement) => {
                const endorser = endorsement.getEndorser_asU8();
                return tryCheck(endorser, Buffer.concat([prpBytes, endorser]), endorsement.getSignature_asU8());
            }),
        };
    });
}

function decodeTransaction(bytes) {
    const envelope = common.Envelope.deserializeBinary(bytes);
    const payloadBytes = envelope.getPayload_asU8();
    const payload = common.Payload.deserializeBinary(payloadBytes);
    const header = payload.getHeader();
    const channelHeader = common.ChannelHeader.deserializeBinary(header.getChannelHeader_asU8());
    const signatureHeader = common.SignatureHeader.deserializeBinary(header.getSignatureHeader_asU8());
    const creator = signatureHeader.getCreator_asU8();
    const type = channelHeader.getType();
    const result = {
        type,
        type_name: headerTypeName(type),
        channel_id: channelHeader.getChannelId(),
        tx_id: channelHeader.getTxId(),
        computed_tx_id: txId(signatureHeader.getNonce_asU8(), creator),
        timestamp: timestamp(channelHeader.getTimestamp()),
        creator_signature: creator.length ? tryCheck(creator, payloadBytes, envelope.getSignature_asU8()) : null,
        reencodes: reencodes(envelope, bytes) && reencodes(payload, payloadBytes),
    };
    if (type === common.HeaderType.ENDORSER_TRANSACTION) {
        const extension = peer.ChaincodeHeaderExtension.deserializeBinary(channelHeader.getExtension_asU8());
        result.chaincode = extension.getChaincodeId()?.getName() ?? null;
        result.actions = decodeEndorserTransaction(payload.getData_asU8());
    } else if (type === common.HeaderType.CONFIG) {
        const config = common.ConfigEnvelope.deserializeBinary(payload.getData_asU8()).getConfig();
        const groups = config?.getChannelGroup()?.getGroupsMap();
        result.config = {
            sequence: config?.getSequence() ?? null,
            groups: groups ? Array.from(groups.keys()).sort() : [],
        };
    }
    return result;
}

function decodeBlock(bytes, headersOnly) {
    const block = common.Block.deserializeBinary(bytes);
    const header = block.getHeader();
    const number = header.getNumber();
    const previousHash = header.getPreviousHash_asU8();
    const dataHash = header.getDataHash_asU8();
    const der = headerBytes(number, previousHash, dataHash);
    const data = block.getData().getDataList_asU8();
    const metadata = block.getMetadata()?.getMetadataList_asU8() ?? [];
    return {
        number,
        previous_hash: hex(previousHash),
        data_hash: hex(dataHash),
        computed_data_hash: hex(sha256(...data)),
        header_der: hex(der),
        header_hash: hex(sha256(der)),
        metadata_entries: metadata.length,
        signatures: blockSignatures(metadata[common.BlockMetadataIndex.SIGNATURES], der),
        transactions_filter: hex(metadata[common.BlockMetadataIndex.TRANSACTIONS_FILTER] ?? []),
        transactions: headersOnly ? null : data.map((entry) => decodeTransaction(entry)),
        reencodes: reencodes(block, bytes),
    };
}

run(async () => {
    const input = await readInput();
    return { blocks: (input.blocks ?? []).map((text) => decodeBlock(fromHex(text), input.headers_only === true)) };
});
