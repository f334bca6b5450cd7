from Crypto.Hash import keccak
def k(b): return keccak.new(digest_bits=256, data=b).digest()
def u(v): return v.to_bytes(32,'big')
DT=b"CausewayDomain(string name,string version,uint32 originDomain,uint256 originChainId,uint32 destinationDomain,uint256 destinationChainId,bytes32 inbox,uint64 validatorEpoch)"
CT=b"Checkpoint(uint8 version,uint32 originDomain,uint8 hashAlgorithm,uint64 logSize,bytes32 root)"
print("DOMAIN_TYPEHASH", k(DT).hex())
print("CHECKPOINT_TYPEHASH", k(CT).hex())
inbox=bytes(12)+bytes.fromhex("5FbDB2315678afecb367f032d93F642f64180aa3")
sep=k(k(DT)+k(b"Causeway")+k(b"1")+u(1)+u(31337)+u(2)+u(31338)+inbox+u(7))
root=bytes.fromhex("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328")
sh=k(k(CT)+u(1)+u(1)+u(1)+u(8)+root)
print("separator", sep.hex())
print("struct", sh.hex())
print("digest", k(b"\x19\x01"+sep+sh).hex())
# named inbox
print("named inbox mychannel/inbox", k(b"mychannel/inbox").hex())
