using System.Data.Common;
using System.Globalization;
using Orchestrator.Testing;
using static Orchestrator.Database.Tests.ProviderParameter;

namespace Orchestrator.Database.Tests;

public sealed class ReminderQueryTests(PostgresDatabaseFixture fixture) : MigratedDatabase(fixture), IClassFixture<PostgresDatabaseFixture>
{
    private static readonly DateTime Start = new(2030, 6, 7, 8, 9, 10, 123, DateTimeKind.Utc);

    [Fact]
    public async Task UpsertReturnsANewVersionEachTime()
    {
        var service = UniqueId("service");
        var reminder = new Reminder("instance/a", "heartbeat", Start, TimeSpan.FromMinutes(1));

        var first = await UpsertAsync(service, reminder);
        var second = await UpsertAsync(service, reminder with { Period = TimeSpan.FromMinutes(5) });

        Assert.NotEqual(first, second);
        var stored = Assert.Single(await ReadRowsAsync(service, reminder.GrainId));
        Assert.Equal((reminder with { Period = TimeSpan.FromMinutes(5) }, second), stored);
    }

    [Fact]
    public async Task ReadRowFindsOneReminderByName()
    {
        var service = UniqueId("service");
        var a = new Reminder("instance/a", "one", Start, TimeSpan.FromMinutes(1));
        var b = a with { ReminderName = "two", StartAt = Start.AddHours(1) };
        await UpsertAsync(service, a);
        var etag = await UpsertAsync(service, b);

        var rows = await Commands.ReadAsync(
            "ReadReminderRowKey",
            ReadReminder,
            For("ServiceId", service),
            Ansi("GrainId", a.GrainId),
            For("ReminderName", "two"));
        var missing = await Commands.ReadAsync(
            "ReadReminderRowKey",
            ReadReminder,
            For("ServiceId", service),
            Ansi("GrainId", a.GrainId),
            For("ReminderName", "three"));

        Assert.Equal((b, etag), Assert.Single(rows));
        Assert.Empty(missing);
    }

    [Fact]
    public async Task ReadRowsReturnsOnlyThatGrainsReminders()
    {
        var service = UniqueId("service");
        await UpsertAsync(service, new Reminder("instance/a", "one", Start, TimeSpan.FromMinutes(1)));
        await UpsertAsync(service, new Reminder("instance/a", "two", Start, TimeSpan.FromMinutes(1)));
        await UpsertAsync(service, new Reminder("instance/b", "one", Start, TimeSpan.FromMinutes(1)));
        await UpsertAsync(UniqueId("service"), new Reminder("instance/a", "three", Start, TimeSpan.FromMinutes(1)));

        var rows = await ReadRowsAsync(service, "instance/a");

        Assert.Equal(["one", "two"], rows.Select(r => r.Reminder.ReminderName).Order());
    }

    [Fact]
    public async Task PeriodsLongerThanInt32MillisecondsRoundTrip()
    {
        var service = UniqueId("service");
        var reminder = new Reminder("instance/a", "yearly", Start, TimeSpan.FromDays(365));

        await UpsertAsync(service, reminder);

        Assert.Equal(reminder, Assert.Single(await ReadRowsAsync(service, reminder.GrainId)).Reminder);
    }

    [Fact]
    public async Task RangeQueriesSelectHashesInTheRing()
    {
        var service = UniqueId("service");
        var hashes = new[] { int.MinValue, -1000, -1, 0, 1, 1000, int.MaxValue };
        foreach (var hash in hashes)
        {
            await UpsertAsync(service, new Reminder($"instance/{hash}", "r", Start, TimeSpan.FromMinutes(1)), hash);
        }

        // The provider picks query 1 when (int)begin < (int)end: begin exclusive, end inclusive.
        Assert.Equal(new[] { -1, 0, 1, 1000 }, await RangeAsync("ReadRangeRows1Key", service, -1000, 1000));
        // Otherwise query 2: the range wraps around.
        Assert.Equal(new[] { int.MinValue, -1000, int.MaxValue }, await RangeAsync("ReadRangeRows2Key", service, 1000, -1000));
        // begin == end is the whole ring.
        Assert.Equal(hashes, await RangeAsync("ReadRangeRows2Key", service, 5, 5));
    }

    [Fact]
    public async Task DeleteNeedsTheCurrentVersion()
    {
        var service = UniqueId("service");
        var reminder = new Reminder("instance/a", "one", Start, TimeSpan.FromMinutes(1));
        var first = await UpsertAsync(service, reminder);
        var second = await UpsertAsync(service, reminder);

        Assert.False(await DeleteAsync(service, reminder, first));
        Assert.Single(await ReadRowsAsync(service, reminder.GrainId));

        Assert.True(await DeleteAsync(service, reminder, second));
        Assert.Empty(await ReadRowsAsync(service, reminder.GrainId));
        Assert.False(await DeleteAsync(service, reminder, second));
    }

    [Fact]
    public async Task DeleteRowsClearsOneServiceOnly()
    {
        var service = UniqueId("service");
        var other = UniqueId("service");
        var reminder = new Reminder("instance/a", "one", Start, TimeSpan.FromMinutes(1));
        await UpsertAsync(service, reminder);
        await UpsertAsync(other, reminder);

        await Commands.ExecuteAsync("DeleteReminderRowsKey", For("ServiceId", service));

        Assert.Empty(await ReadRowsAsync(service, reminder.GrainId));
        Assert.Single(await ReadRowsAsync(other, reminder.GrainId));
    }

    // UpsertReminderRowAsync: GrainHash is the uint hash cast to int; Period is int milliseconds when it
    // fits and long otherwise; the ETag is the Version column of the single returned row.
    private async Task<string> UpsertAsync(string service, Reminder reminder, int grainHash = 10)
    {
        var milliseconds = reminder.Period.TotalMilliseconds;
        var period = milliseconds <= int.MaxValue ? For("Period", (int)milliseconds) : For("Period", (long)milliseconds);
        var versions = await Commands.ReadAsync(
            "UpsertReminderRowKey",
            r => Convert.ToInt32(r.GetValue(r.GetOrdinal("Version")), CultureInfo.InvariantCulture).ToString(CultureInfo.InvariantCulture),
            For("ServiceId", service),
            For("GrainHash", grainHash),
            Ansi("GrainId", reminder.GrainId),
            For("ReminderName", reminder.ReminderName),
            For("StartTime", reminder.StartAt),
            period);
        return versions.First();
    }

    private Task<List<(Reminder Reminder, string ETag)>> ReadRowsAsync(string service, string grainId) =>
        Commands.ReadAsync("ReadReminderRowsKey", ReadReminder, For("ServiceId", service), Ansi("GrainId", grainId));

    private async Task<int[]> RangeAsync(string key, string service, int begin, int end)
    {
        var rows = await Commands.ReadAsync(key, ReadReminder, For("ServiceId", service), For("BeginHash", begin), For("EndHash", end));
        // The provider does not read GrainHash back; each test grain is named after its hash.
        return [.. rows.Select(r => int.Parse(r.Reminder.GrainId["instance/".Length..], CultureInfo.InvariantCulture)).Order()];
    }

    private Task<bool> DeleteAsync(string service, Reminder reminder, string etag) =>
        Commands.ReadSingleBooleanAsync(
            "DeleteReminderRowKey",
            For("ServiceId", service),
            Ansi("GrainId", reminder.GrainId),
            For("ReminderName", reminder.ReminderName),
            For("Version", int.Parse(etag, CultureInfo.InvariantCulture)));

    // Mirrors RelationalOrleansQueries.GetReminderEntry.
    private static (Reminder Reminder, string ETag) ReadReminder(DbDataReader record)
    {
        var periodOrdinal = record.GetOrdinal("Period");
        var period = record.GetFieldType(periodOrdinal) == typeof(int) ? record.GetInt32(periodOrdinal) : record.GetInt64(periodOrdinal);
        var reminder = new Reminder(
            (string)record.GetValue(record.GetOrdinal("GrainId")),
            (string)record.GetValue(record.GetOrdinal("ReminderName")),
            DateTime.SpecifyKind(record.GetDateTime(record.GetOrdinal("StartTime")), DateTimeKind.Utc),
            TimeSpan.FromMilliseconds(period));
        var etag = Convert.ToInt32(record.GetValue(record.GetOrdinal("Version")), CultureInfo.InvariantCulture).ToString(CultureInfo.InvariantCulture);
        return (reminder, etag);
    }

    private sealed record Reminder(string GrainId, string ReminderName, DateTime StartAt, TimeSpan Period);
}
