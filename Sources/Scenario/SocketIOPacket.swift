/// Socket.IO v4 packets as they travel in WebSocket messages (Engine.IO v4 "message" packets):
/// `42["event",{…}]`, with an optional namespace (`42/chat,["event",{…}]`) and ack id
/// (`4217["event",{…}]`). Only what volley needs to look into them.
public enum SocketIOPacket {
    /// The bytes of an event packet's first argument (the data after the event name), or nil
    /// if `payload` is not an event packet with an argument. Allocates nothing.
    public static func eventData(_ payload: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer? {
        let n = payload.count
        guard n >= 4, payload[0] == UInt8(ascii: "4"), payload[1] == UInt8(ascii: "2") else { return nil }
        var i = 2
        if payload[i] == UInt8(ascii: "/") {                  // a namespace, up to the comma
            while i < n && payload[i] != UInt8(ascii: ",") { i += 1 }
            i += 1
        }
        while i < n && payload[i] >= UInt8(ascii: "0") && payload[i] <= UInt8(ascii: "9") { i += 1 }   // ack id
        guard i < n, payload[i] == UInt8(ascii: "[") else { return nil }
        i += 1
        while i < n && payload[i] == UInt8(ascii: " ") { i += 1 }
        guard i < n, payload[i] == UInt8(ascii: "\"") else { return nil }
        i += 1
        while i < n && payload[i] != UInt8(ascii: "\"") {      // the event name
            i += payload[i] == UInt8(ascii: "\\") ? 2 : 1
        }
        i += 1
        while i < n && payload[i] == UInt8(ascii: " ") { i += 1 }
        guard i < n, payload[i] == UInt8(ascii: ",") else { return nil }
        i += 1
        while i < n && payload[i] == UInt8(ascii: " ") { i += 1 }
        var end = n
        while end > i && payload[end - 1] != UInt8(ascii: "]") { end -= 1 }   // the array's end
        end -= 1
        guard end > i else { return nil }
        return UnsafeRawBufferPointer(rebasing: payload[i..<end])
    }
}
