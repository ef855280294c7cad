import Testing
@testable import WebSocket

@Suite("Inbound protocol state machine")
struct InboundProtocolTests {
    func receive(_ state: inout InboundProtocol, _ header: FrameHeader, _ payload: [UInt8] = []) -> InboundEvent {
        payload.withUnsafeBytes { state.receive(header, payload: $0) }
    }

    func frame(_ opcode: UInt8, fin: Bool = true, masked: Bool = false, length: UInt64 = 0, rsv: UInt8 = 0) -> FrameHeader {
        FrameHeader(fin: fin, reservedBits: rsv, opcode: opcode, maskingKey: masked ? 1 : nil, payloadLength: length)
    }

    @Test("servers require masked frames, clients unmasked")
    func maskingRequirement() {
        let server = InboundProtocol(role: .server)
        let client = InboundProtocol(role: .client)
        #expect(server.check(frame(1)) == .unmaskedClientFrame)
        #expect(server.check(frame(1, masked: true)) == nil)
        #expect(client.check(frame(1, masked: true)) == .maskedServerFrame)
        #expect(client.check(frame(1)) == nil)
    }

    @Test("reserved bits, reserved opcodes and oversized or fragmented control frames are violations")
    func headerViolations() {
        let p = InboundProtocol(role: .client)
        #expect(p.check(frame(1, rsv: 4)) == .reservedBitsSet)
        for op: UInt8 in [3, 4, 5, 6, 7, 0xB, 0xC, 0xF] { #expect(p.check(frame(op)) == .reservedOpcode) }
        #expect(p.check(frame(9, length: 126)) == .controlFrameTooLong)
        #expect(p.check(frame(9, fin: false)) == .fragmentedControlFrame)
        #expect(p.check(frame(0)) == .unexpectedContinuation)
        let small = InboundProtocol(role: .client, limits: WebSocketLimits(maximumFrameSize: 100, maximumMessageSize: 150))
        #expect(small.check(frame(2, length: 101)) == .frameTooLarge)
    }

    @Test("fragmented messages: control frames may interleave, data frames may not, size adds up")
    func fragmentation() {
        var p = InboundProtocol(role: .client, limits: WebSocketLimits(maximumFrameSize: 100, maximumMessageSize: 150))
        #expect(receive(&p, frame(1, fin: false, length: 2), Array("ab".utf8)) == .fragment(.text, isFinal: false))
        #expect(receive(&p, frame(9), []) == .ping)
        #expect(p.check(frame(2)) == .expectedContinuation)
        #expect(receive(&p, frame(0, fin: false, length: 80), [UInt8](repeating: 0x61, count: 80)) == .fragment(.text, isFinal: false))
        #expect(receive(&p, frame(0, fin: true, length: 80), [UInt8](repeating: 0x61, count: 80)) == .violation(.messageTooLarge))
    }

    @Test("UTF-8 is validated across fragments, and must end complete")
    func utf8AcrossFragments() {
        var p = InboundProtocol(role: .client)
        let euro: [UInt8] = [0xE2, 0x82, 0xAC]
        #expect(receive(&p, frame(1, fin: false, length: 1), [euro[0]]) == .fragment(.text, isFinal: false))
        #expect(receive(&p, frame(0, fin: false, length: 1), [euro[1]]) == .fragment(.text, isFinal: false))
        #expect(receive(&p, frame(0, fin: true, length: 1), [euro[2]]) == .fragment(.text, isFinal: true))
        #expect(receive(&p, frame(1, fin: false, length: 1), [euro[0]]) == .fragment(.text, isFinal: false))
        #expect(receive(&p, frame(0, fin: true, length: 1), [euro[1]]) == .violation(.invalidUTF8))
        var q = InboundProtocol(role: .client)
        #expect(receive(&q, frame(1, length: 2), [0xC0, 0x80]) == .violation(.invalidUTF8))
        #expect(receive(&q, frame(2, length: 2), [0xC0, 0x80]) == .message(.binary))
    }

    @Test("close payloads: empty, valid codes with UTF-8 reasons; everything else is a violation")
    func closePayloads() {
        func close(_ payload: [UInt8]) -> InboundEvent {
            var p = InboundProtocol(role: .client)
            return receive(&p, frame(8, length: UInt64(payload.count)), payload)
        }
        #expect(close([]) == .close(code: nil))
        #expect(close([0x03, 0xE8]) == .close(code: 1000))
        #expect(close([0x03, 0xE8] + Array("bye".utf8)) == .close(code: 1000))
        #expect(close([0x0F, 0xA0]) == .close(code: 4000))
        #expect(close([0x03]) == .violation(.invalidClosePayload))
        for code: UInt16 in [0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000] {
            #expect(close([UInt8(code >> 8), UInt8(code & 0xFF)]) == .violation(.invalidCloseCode), "code \(code)")
        }
        #expect(close([0x03, 0xE8, 0xFF]) == .violation(.invalidClosePayload))
    }

    @Test("after a close frame no data frame is accepted")
    func dataAfterClose() {
        var p = InboundProtocol(role: .client)
        #expect(receive(&p, frame(8)) == .close(code: nil))
        #expect(p.check(frame(1)) == .dataAfterClose)
        #expect(p.check(frame(10)) == nil)
    }
}
