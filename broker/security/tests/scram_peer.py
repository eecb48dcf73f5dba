#!/usr/bin/python3
"""scram_peer.py - independent SCRAM implementations for test_scram_interop.

  scram_peer.py vector MECH
      Print RFC 7677's example exchange (user "user", password "pencil", the RFC's nonces,
      salt and 4096 iterations) computed for MECH with Python's hashlib and hmac, one
      message per line: client-first, server-first, client-final, server-final.

  scram_peer.py client MECH USER PASSWORD
      Be a Kafka client: kafka-python's own ScramClient (kafka/scram.py, Debian's
      python3-kafka) drives one exchange over stdin/stdout, one message per line:
        -> client-first      <- server-first
        -> client-final      <- server-final (or a line "FAILED")
      and prints "OK" if the server's signature verified, "BADSIG" if not.
"""
import base64
import hashlib
import hmac
import sys


def vector(mech):
    h = {"SCRAM-SHA-256": "sha256", "SCRAM-SHA-512": "sha512"}[mech]
    user, password = "user", b"pencil"
    cnonce, snonce = "rOprNGfwEbeRWgbNEkqO", "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
    salt_b64, iterations = "W22ZaJ0SNY7soEsUEjb6gQ==", 4096
    salt = base64.b64decode(salt_b64)

    def mac(key, msg):
        return hmac.new(key, msg, getattr(hashlib, h)).digest()

    salted = hashlib.pbkdf2_hmac(h, password, salt, iterations)
    client_key = mac(salted, b"Client Key")
    stored_key = getattr(hashlib, h)(client_key).digest()
    server_key = mac(salted, b"Server Key")
    bare = "n=%s,r=%s" % (user, cnonce)
    server_first = "r=%s%s,s=%s,i=%d" % (cnonce, snonce, salt_b64, iterations)
    without_proof = "c=biws,r=%s%s" % (cnonce, snonce)
    auth = ("%s,%s,%s" % (bare, server_first, without_proof)).encode()
    proof = bytes(a ^ b for a, b in zip(client_key, mac(stored_key, auth)))
    print("n,," + bare)
    print(server_first)
    print("%s,p=%s" % (without_proof, base64.b64encode(proof).decode()))
    print("v=" + base64.b64encode(mac(server_key, auth)).decode())


def client(mech, user, password):
    from kafka.scram import ScramClient  # kafka-python, an independent client

    c = ScramClient(user, password, mech)
    print(c.first_message(), flush=True)
    c.process_server_first_message(sys.stdin.readline().rstrip("\n"))
    print(c.final_message(), flush=True)
    line = sys.stdin.readline().rstrip("\n")
    if line == "FAILED":
        print("FAILED", flush=True)
        return
    try:
        c.process_server_final_message(line)
        print("OK", flush=True)
    except ValueError:
        print("BADSIG", flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "vector":
        vector(sys.argv[2])
    else:
        client(sys.argv[2], sys.argv[3], sys.argv[4])
