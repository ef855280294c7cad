#!/usr/bin/env python3
"""Third-party TLS WebSocket peers for volley's interoperability tests (Python `websockets`,
certificates from a private CA made by `trustme`).

  tls_peer.py certs DIR                 write ca.pem, server.pem (chain + key, for localhost and
                                        127.0.0.1), server-cert.pem, server-key.pem, client.pem, client-key.pem
  tls_peer.py server DIR PORT [--mtls] [--deflate]
                                        echo server over wss:// (prints "ready" when listening);
                                        --mtls requires a client certificate from the CA
  tls_peer.py client DIR URL N          connects to URL trusting DIR/ca.pem (permessage-deflate
                                        offered, as websockets does by default), sends N messages of
                                        several sizes, checks each echo, prints "ok N" and the
                                        extensions agreed
"""
import asyncio
import ssl
import sys

import trustme
import websockets


def write_certs(directory):
    ca = trustme.CA()
    ca.cert_pem.write_to_path(f"{directory}/ca.pem")
    server = ca.issue_cert("localhost", "127.0.0.1")
    server.private_key_and_cert_chain_pem.write_to_path(f"{directory}/server.pem")
    server.cert_chain_pems[0].write_to_path(f"{directory}/server-cert.pem")
    server.private_key_pem.write_to_path(f"{directory}/server-key.pem")
    client = ca.issue_cert("volley-client")
    client.cert_chain_pems[0].write_to_path(f"{directory}/client.pem")
    client.private_key_pem.write_to_path(f"{directory}/client-key.pem")


async def echo(ws):
    try:
        async for message in ws:
            await ws.send(message)
    except websockets.ConnectionClosed:
        pass


async def serve(directory, port, mtls, deflate):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(f"{directory}/server.pem")
    if mtls:
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(f"{directory}/ca.pem")
    compression = "deflate" if deflate else None
    async with websockets.serve(echo, "127.0.0.1", port, ssl=context, compression=compression, max_size=None):
        print("ready", flush=True)
        await asyncio.Future()


async def client(directory, url, count):
    context = ssl.create_default_context(cafile=f"{directory}/ca.pem")
    async with websockets.connect(url, ssl=context, max_size=None) as ws:
        for i in range(count):
            payload = (f"message {i} " * (1 + (i * 97) % 3000))
            await ws.send(payload)
            reply = await ws.recv()
            if reply != payload:
                print(f"mismatch at {i}: sent {len(payload)} bytes, got {len(reply)}", flush=True)
                sys.exit(1)
        binary = bytes(range(256)) * 1000
        await ws.send(binary)
        if await ws.recv() != binary:
            print("binary mismatch", flush=True)
            sys.exit(1)
        agreed = ",".join(e.name for e in ws.protocol.extensions) or "none"
    print(f"ok {count} extensions {agreed}", flush=True)


def main():
    command = sys.argv[1]
    if command == "certs":
        write_certs(sys.argv[2])
    elif command == "server":
        asyncio.run(serve(sys.argv[2], int(sys.argv[3]), "--mtls" in sys.argv, "--deflate" in sys.argv))
    elif command == "client":
        asyncio.run(client(sys.argv[2], sys.argv[3], int(sys.argv[4])))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
