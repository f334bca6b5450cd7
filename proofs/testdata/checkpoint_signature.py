import hashlib
from ecdsa import SigningKey, SECP256k1, VerifyingKey
from ecdsa.util import sigencode_strings, sigdecode_strings
from Crypto.Hash import keccak
def k(b): return keccak.new(digest_bits=256, data=b).digest()
n=SECP256k1.order
digest=bytes.fromhex("c9da6a7b61b0a2718359994361e47e43c3a413c95075f10fe5fe0584239858cf")
priv=bytes.fromhex("4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318")
sk=SigningKey.from_string(priv, curve=SECP256k1)
vk=sk.get_verifying_key()
addr=k(vk.to_string())[12:]
print("address", addr.hex())
r,s=sk.sign_digest_deterministic(digest, hashfunc=hashlib.sha256, sigencode=lambda r,s,o:(r,s))
if s>n//2: s=n-s
sig=r.to_bytes(32,'big')+s.to_bytes(32,'big')
# find recid
cands=VerifyingKey.from_public_key_recovery_with_digest(sig, digest, SECP256k1, hashfunc=hashlib.sha256, sigdecode=sigdecode_strings if False else (lambda sig,o:(int.from_bytes(sig[:32],'big'),int.from_bytes(sig[32:],'big'))))
for i,c in enumerate(cands):
    if c.to_string()==vk.to_string(): print("cand", i)
# determine parity: recompute R
from ecdsa.ellipticcurve import Point
G=SECP256k1.generator
kk=None
# recid via trying parity
for v in (27,28):
    pass
print("sig", sig.hex())
from ecdsa import numbertheory
p=SECP256k1.curve.p()
x=r
alpha=(pow(x,3,p)+7)%p
beta=numbertheory.square_root_mod_prime(alpha,p)
z=int.from_bytes(digest,'big')%n
for parity in (0,1):
    y=beta if beta%2==parity else p-beta
    R=Point(SECP256k1.curve,x,y,n)
    rinv=pow(r,-1,n)
    Q=(R*s + G*((-z)%n))*rinv
    if Q.x()==vk.pubkey.point.x() and Q.y()==vk.pubkey.point.y():
        print("v", 27+parity, (sig+bytes([27+parity])).hex())
