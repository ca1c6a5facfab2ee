using Orchestrator.Gateway.Instances;

namespace Orchestrator.Gateway.Tests;

/// <summary>A client attached to a shared terminal: its queue, and what happens when it stops reading.</summary>
public sealed class AttachSubscriberTests
{
    [Fact]
    public async Task OutputComesInOrderThenTheLastItem()
    {
        var subscriber = new AttachSubscriber(viewOnly: false);
        Assert.True(subscriber.Offer([1, 2]));
        Assert.True(subscriber.Offer([3]));
        subscriber.End(new TerminalOutput.Exit(7));

        var items = await ReadAllAsync(subscriber);

        Assert.Equal(3, items.Count);
        Assert.Equal([1, 2], Assert.IsType<TerminalOutput.Data>(items[0]).Bytes);
        Assert.Equal([3], Assert.IsType<TerminalOutput.Data>(items[1]).Bytes);
        Assert.Equal(7, Assert.IsType<TerminalOutput.Exit>(items[2]).Code);
    }

    [Fact]
    public async Task ASubscriberThatFallsTooFarBehindIsDroppedAndToldInsteadOfQueueingMore()
    {
        var subscriber = new AttachSubscriber(viewOnly: true);
        var chunk = new byte[64 * 1024];
        var offered = 0;
        while (subscriber.Offer(chunk))
        {
            offered++;
        }

        Assert.Equal(AttachSubscriber.MaxQueuedBytes / chunk.Length, offered);
        Assert.True(subscriber.Lagged);
        Assert.False(subscriber.Offer([1]));

        // What was queued is not sent: the client gets the error at once.
        var items = await ReadAllAsync(subscriber);
        var error = Assert.IsType<TerminalOutput.Error>(Assert.Single(items));
        Assert.Contains("behind", error.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReadingFreesTheBudget()
    {
        var subscriber = new AttachSubscriber(viewOnly: false);
        var chunk = new byte[AttachSubscriber.MaxQueuedBytes / 2];
        using var cancel = new CancellationTokenSource();
        await using var reader = subscriber.ReadAllAsync(cancel.Token).GetAsyncEnumerator(cancel.Token);
        for (var i = 0; i < 10; i++)
        {
            Assert.True(subscriber.Offer(chunk));
            Assert.True(await reader.MoveNextAsync());
        }

        Assert.False(subscriber.Lagged);
    }

    private static async Task<List<TerminalOutput>> ReadAllAsync(AttachSubscriber subscriber)
    {
        var items = new List<TerminalOutput>();
        await foreach (var item in subscriber.ReadAllAsync(CancellationToken.None))
        {
            items.Add(item);
        }

        return items;
    }
}
