using Orchestrator.Testing;

namespace Orchestrator.Ssh.Tests;

public sealed class CommandOutputBufferTests
{
    [Fact]
    public async Task A_write_that_finds_the_buffer_full_waits_until_the_reader_makes_room()
    {
        using var buffer = new CommandOutputBuffer(capacity: 10);
        buffer.Write([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);

        var blocked = Task.Factory.StartNew(() => buffer.Write([11, 12]), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        await Wait.UntilAsync(() => Task.FromResult(buffer.WaitingWriters == 1), "the second write to wait for room");
        Assert.False(blocked.IsCompleted);

        var first = new byte[4];
        Assert.Equal(4, await buffer.ReadAsync(first));
        await blocked.WaitAsync(TimeSpan.FromSeconds(30));

        var rest = new byte[32];
        var read = await buffer.ReadAsync(rest);
        Assert.Equal(new byte[] { 1, 2, 3, 4 }, first);
        Assert.Equal(new byte[] { 5, 6, 7, 8, 9, 10, 11, 12 }, rest[..read]);
    }

    [Fact]
    public async Task Reads_return_the_bytes_in_order_across_chunks_then_end_once_the_writer_is_done()
    {
        var buffer = new CommandOutputBuffer(capacity: 100);
        buffer.Write([1, 2, 3]);
        buffer.Write([4, 5]);
        buffer.Dispose();

        var two = new byte[2];
        Assert.Equal(2, await buffer.ReadAsync(two));
        var rest = new byte[10];
        Assert.Equal(3, await buffer.ReadAsync(rest));
        Assert.Equal(0, await buffer.ReadAsync(rest));
        Assert.Equal(new byte[] { 1, 2, 3, 4, 5 }, two.Concat(rest[..3]).ToArray());
    }

    [Fact]
    public async Task A_waiting_reader_gets_the_next_write()
    {
        using var buffer = new CommandOutputBuffer(capacity: 100);
        var destination = new byte[8];
        var reading = buffer.ReadAsync(destination).AsTask();
        Assert.False(reading.IsCompleted);

        buffer.Write([42]);
        Assert.Equal(1, await reading.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal(42, destination[0]);
    }

    [Fact]
    public async Task An_abandoned_buffer_releases_a_waiting_writer_and_drops_what_it_held()
    {
        using var buffer = new CommandOutputBuffer(capacity: 4);
        buffer.Write([1, 2, 3, 4]);
        var blocked = Task.Factory.StartNew(() => buffer.Write([5]), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        await Wait.UntilAsync(() => Task.FromResult(buffer.WaitingWriters == 1), "the write to wait for room");

        buffer.Abandon();
        await blocked.WaitAsync(TimeSpan.FromSeconds(30));
        buffer.Write([6, 7, 8, 9, 10]);
        Assert.Equal(0, await buffer.ReadAsync(new byte[8]));
    }

    [Fact]
    public async Task A_cancelled_read_stops_waiting()
    {
        using var buffer = new CommandOutputBuffer(capacity: 4);
        using var cancel = new CancellationTokenSource();
        var reading = buffer.ReadAsync(new byte[4], cancel.Token).AsTask();

        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => reading);
    }
}
