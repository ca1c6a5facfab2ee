using System.Text.Json;
using Orchestrator.Cli.Api;
using Orchestrator.Cli.Console;
using Spectre.Console;

namespace Orchestrator.Cli.Commands;

/// <summary>
/// Shows a run's events as they arrive: on a terminal a live table of steps (status, attempt, duration, the running
/// step's last output lines); otherwise one line per event, or with --output json the events as NDJSON.
/// </summary>
internal sealed class RunView(Ui ui)
{
    private const int TailLines = 5;
    private readonly Dictionary<string, StepLine> _steps = new(StringComparer.Ordinal);
    private readonly List<string> _order = [];
    private string _status = "running";
    private Action? _refresh;

    public async Task RunAsync(Func<Task> follow)
    {
        if (!ui.Interactive)
        {
            await follow();
            return;
        }

        await ui.Out.Live(Render()).AutoClear(false).StartAsync(async ctx =>
        {
            _refresh = () => ctx.UpdateTarget(Render());
            await follow();
            _refresh();
        });
    }

    public void Note(string text) => ui.Note(text);

    public void Add(RunEvent e)
    {
        if (ui.Json)
        {
            ui.WriteJson(e, ApiJson.Default.RunEvent, indented: false);
            return;
        }

        if (e.StepId is { } stepId && !_steps.ContainsKey(stepId))
        {
            _steps[stepId] = new StepLine();
            _order.Add(stepId);
        }

        var step = e.StepId is null ? null : _steps[e.StepId];
        switch (e.Kind)
        {
            case "step.started" when step is not null:
                step.Status = "running";
                step.Attempt = e.Attempt;
                step.Started = e.At;
                step.Ended = null;
                break;
            case "step.output" when step is not null:
                var text = e.Data.ValueKind == JsonValueKind.Object && e.Data.TryGetProperty("data", out var d) ? d.GetString() ?? "" : "";
                foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
                {
                    step.Tail.Enqueue(line);
                    while (step.Tail.Count > TailLines)
                    {
                        step.Tail.Dequeue();
                    }
                }

                break;
            case "step.completed" or "step.failed" or "step.skipped" or "step.retried" when step is not null:
                step.Status = e.Kind[5..];
                step.Ended = e.At;
                break;
            case "run.completed" or "run.failed" or "run.cancelled":
                _status = e.Kind[4..];
                break;
        }

        if (_refresh is not null)
        {
            _refresh();
        }
        else if (e.Kind != "step.output")
        {
            ui.Line($"{e.Sequence,5}  {Args.Time(e.At)}  {e.Kind,-15} {e.StepId ?? ""}{(e.Attempt > 1 ? $" (attempt {e.Attempt})" : "")}");
        }
        else if (step is not null)
        {
            ui.Line($"{e.Sequence,5}  {Args.Time(e.At)}  {e.Kind,-15} {e.StepId}: {step.Tail.LastOrDefault()}");
        }
    }

    private Table Render()
    {
        var table = new Table().Border(TableBorder.Simple).Title($"run {_status}");
        table.AddColumn("STEP").AddColumn("STATUS").AddColumn("ATTEMPT").AddColumn("DURATION").AddColumn("OUTPUT");
        foreach (var id in _order)
        {
            var s = _steps[id];
            var colour = s.Status switch { "completed" => "green", "failed" => "red", "running" => "yellow", _ => "grey" };
            table.AddRow(
                Markup.Escape(id),
                $"[{colour}]{Markup.Escape(s.Status)}[/]",
                s.Attempt.ToString(System.Globalization.CultureInfo.InvariantCulture),
                Args.Duration(s.Started, s.Ended),
                Markup.Escape(s.Status == "running" ? string.Join('\n', s.Tail) : ""));
        }

        return table;
    }

    private sealed class StepLine
    {
        public string Status { get; set; } = "pending";

        public int Attempt { get; set; }

        public DateTimeOffset? Started { get; set; }

        public DateTimeOffset? Ended { get; set; }

        public Queue<string> Tail { get; } = new();
    }
}
