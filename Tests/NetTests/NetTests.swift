import Testing
import Net

final class Recorder: TimerTarget {
    var fired: [(UInt64, Instant)] = []
    func timerFired(token: UInt64, now: Instant) { fired.append((token, now)) }
}

@Suite("Net")
struct NetTests {
    @Test("the timer heap fires in deadline order, ties in scheduling order, only when due")
    func timerHeapOrder() {
        var heap = TimerHeap()
        let r = Recorder()
        let base = Instant(nanoseconds: 1_000)
        for (i, offset) in [50, 10, 30, 10, 40, 20].enumerated() {
            heap.schedule(at: base.advanced(by: Int64(offset)), target: r, token: UInt64(i))
        }
        #expect(heap.popDue(now: base) == nil)
        var order: [UInt64] = []
        while let (_, token) = heap.popDue(now: base.advanced(by: 35)) { order.append(token) }
        #expect(order == [1, 3, 5, 2])
        #expect(heap.count == 2 && heap.earliestDeadline == base.advanced(by: 40))
    }

    @Test("an event loop on a manual clock fires timers only when the clock reaches them")
    func loopWithManualClock() throws {
        let clock = ManualClock()
        let loop = try EventLoop(clock: clock)
        let r = Recorder()
        loop.schedule(at: clock.now().advanced(by: Nanoseconds.milliseconds(10)), target: r, token: 7)
        loop.runOnce(maximumWait: 0)
        #expect(r.fired.isEmpty)
        clock.advance(by: Nanoseconds.milliseconds(10))
        loop.runOnce(maximumWait: 0)
        #expect(r.fired.map(\.0) == [7])
    }

    @Test("work handed to a running loop from another thread runs on the loop")
    func crossThreadExecute() throws {
        let group = try EventLoopGroup(count: 2)
        group.start()
        defer { group.stopAndJoin() }
        let done = ManualClock()   // used as a thread-safe counter
        for loop in group.loops {
            loop.execute {
                #expect(loop.inLoopThread)
                done.advance(by: 1)
            }
        }
        let deadline = Instant.now.advanced(by: Nanoseconds.seconds(5))
        while done.now().nanoseconds < 1_000_000_002 && Instant.now < deadline { }
        #expect(done.now().nanoseconds == 1_000_000_002)
    }

    @Test("socket addresses parse and print", arguments: ["127.0.0.1:80", "[::1]:8080", "10.1.2.3:65535"])
    func addresses(text: String) {
        #expect(SocketAddress(text)?.description == text)
    }

    @Test("malformed socket addresses are rejected", arguments: ["127.0.0.1", "::1:80", "1.2.3.4:70000", "host:80", "1.2.3:4"])
    func badAddresses(text: String) {
        #expect(SocketAddress(text) == nil)
    }

    @Test("CIDR networks contain exactly their addresses")
    func networks() {
        let net = IPNetwork("10.0.0.0/8")!
        #expect(net.contains(IPAddress("10.255.1.2")!))
        #expect(!net.contains(IPAddress("11.0.0.1")!))
        #expect(IPNetwork("127.0.0.1")!.contains(IPAddress("127.0.0.1")!))
        #expect(IPNetwork("::1/128")!.contains(IPAddress("::1")!))
        #expect(IPNetwork("fd00::/8")!.contains(IPAddress("fd12::1")!))
        #expect(!IPNetwork("10.0.0.0/8")!.contains(IPAddress("::1")!))
        #expect(IPNetwork("10.0.0.0/33") == nil && IPNetwork("nonsense/8") == nil)
        #expect(IPAddress("127.0.0.5")!.isLoopback && !IPAddress("10.0.0.1")!.isLoopback)
    }

    @Test("a byte queue keeps order across growth, compaction and release")
    func byteQueue() {
        var q = ByteQueue()
        #expect(q.allocatedBytes == 0)
        var expected: [UInt8] = []
        for round in 0..<50 {
            let chunk = (0..<(round * 37 % 500)).map { UInt8(truncatingIfNeeded: $0 + round) }
            q.append(chunk)
            expected += chunk
            let take = min(expected.count, round * 23 % 400)
            #expect(Array(q.readable.prefix(take)) == Array(expected.prefix(take)))
            q.consume(take)
            expected.removeFirst(take)
            #expect(q.count == expected.count)
        }
        q.consume(q.count)
        #expect(q.isEmpty && q.allocatedBytes == 0)
    }

    @Test("connect errors are typed and name the address and the operation")
    func connectRefused() throws {
        let listener = try Socket.listen(on: SocketAddress("127.0.0.1:0")!)
        let address = listener.localAddress!
        listener.close()
        let loop = try EventLoop()
        final class Waiter: EventHandler {
            var events: IOEvents = []
            func handleEvents(_ e: IOEvents) { events = e }
        }
        let (socket, connected) = try Socket.connect(to: address)
        #expect(!connected)
        let waiter = Waiter()
        try loop.register(fd: socket.fd, interest: .writable, handler: waiter)
        loop.runOnce(maximumWait: Nanoseconds.seconds(2))
        let error = SocketError("connect", address: address, code: socket.pendingError)
        #expect(error.codeName == "ECONNREFUSED")
        #expect(error.description == "connect to \(address) failed: Connection refused (ECONNREFUSED)")
        loop.deregister(fd: socket.fd)
        socket.close()
    }
}
