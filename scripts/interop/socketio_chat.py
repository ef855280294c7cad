"""A Socket.IO v4 chat server (python-socketio under uvicorn), for volley's interop tests.

    socketio_chat.py PORT [PING_INTERVAL_S]

Users emit "join" {room} (acknowledged with "joined") and "message" {room, ...} (broadcast to
the room as "message" with the same data, acknowledged with {"ok": true}). Engine.IO pings
every PING_INTERVAL_S seconds (default 1) and drops a client that does not answer within
2 s more, so a run of a few seconds proves heartbeats are answered. Prints "ready" once
listening, then every half second the counts so far: "stats connects=N disconnects=N
messages=N" (the test reads the last line; it stops the server with SIGKILL).
"""
import asyncio
import signal
import sys

import socketio
import uvicorn

port = int(sys.argv[1])
ping_interval = float(sys.argv[2]) if len(sys.argv) > 2 else 1.0
sio = socketio.AsyncServer(async_mode="asgi", ping_interval=ping_interval, ping_timeout=2,
                           transports=["websocket"], cors_allowed_origins="*")
app = socketio.ASGIApp(sio)
stats = {"connects": 0, "disconnects": 0, "messages": 0}


@sio.event
async def connect(sid, environ, auth):
    stats["connects"] += 1


@sio.event
async def disconnect(sid, *args):
    stats["disconnects"] += 1


@sio.event
async def join(sid, data):
    await sio.enter_room(sid, data["room"])
    return "joined"


@sio.event
async def message(sid, data):
    stats["messages"] += 1
    await sio.emit("message", data, room=data["room"])
    return {"ok": True}


async def main():
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", ws_max_size=1 << 20))
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, lambda: setattr(server, "should_exit", True))

    async def announce():
        while not server.started:
            await asyncio.sleep(0.05)
        print("ready", flush=True)
        while True:
            await asyncio.sleep(0.5)
            print("stats connects=%d disconnects=%d messages=%d" % (stats["connects"], stats["disconnects"], stats["messages"]), flush=True)

    asyncio.ensure_future(announce())
    await server.serve()


asyncio.run(main())
