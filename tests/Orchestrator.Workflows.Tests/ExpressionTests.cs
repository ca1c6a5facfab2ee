using Orchestrator.Workflows.Expressions;
using Orchestrator.Workflows.Runtime;

namespace Orchestrator.Workflows.Tests;

public sealed class ExpressionTests
{
    private static readonly ExpressionContext s_context = new()
    {
        RunId = "run-42",
        WorkflowName = "demo",
        Inputs = new Dictionary<string, WorkflowValue>
        {
            ["branch"] = new StringValue("feature/login"),
            ["count"] = new NumberValue(3),
            ["deploy"] = WorkflowValue.True,
            ["keep"] = WorkflowValue.False,
            ["empty"] = new StringValue(""),
            ["tags"] = new ListValue(new ValueList<WorkflowValue>([new StringValue("a"), new StringValue("b")])),
            ["cfg"] = new MapValue(new ValueDictionary<WorkflowValue>([KeyValuePair.Create("region", (WorkflowValue)new StringValue("iad"))])),
        },
        Steps = new Dictionary<string, StepResult>
        {
            ["probe"] = new(StepStatus.Succeeded, new Dictionary<string, WorkflowValue> { ["code"] = new StringValue("0"), ["out"] = new StringValue("ok: ready") }),
        },
    };

    [Theory]
    // literals and truthiness
    [InlineData("true", true)]
    [InlineData("false", false)]
    [InlineData("null", false)]
    [InlineData("0", false)]
    [InlineData("1", true)]
    [InlineData("''", false)]
    [InlineData("'x'", true)]
    [InlineData("inputs.empty", false)]
    [InlineData("inputs.undeclared_at_run_time", false)]
    // not, and, or, precedence, parentheses
    [InlineData("!false", true)]
    [InlineData("!!inputs.deploy", true)]
    [InlineData("true && false", false)]
    [InlineData("true && true", true)]
    [InlineData("false || true", true)]
    [InlineData("false || false", false)]
    [InlineData("true || false && false", true)]
    [InlineData("(true || false) && false", false)]
    [InlineData("!inputs.keep && inputs.deploy", true)]
    // equality and ordering
    [InlineData("inputs.branch == 'feature/login'", true)]
    [InlineData("inputs.branch != 'main'", true)]
    [InlineData("inputs.count == 3", true)]
    [InlineData("inputs.count == 3.0", true)]
    [InlineData("inputs.count < 10", true)]
    [InlineData("inputs.count <= 3", true)]
    [InlineData("inputs.count > 3", false)]
    [InlineData("inputs.count >= 4", false)]
    [InlineData("-1 < 0", true)]
    [InlineData("'b' > 'a'", true)]
    [InlineData("steps.probe.outputs.code == 0", true)]
    [InlineData("steps.probe.status == 'succeeded'", true)]
    [InlineData("inputs.deploy == 'true'", true)]
    [InlineData("null == null", true)]
    [InlineData("inputs.missing == null", true)]
    [InlineData("inputs.branch == null", false)]
    [InlineData("'10' < '9'", false)]
    [InlineData("\"it's\" == 'it''s'", true)]
    [InlineData("inputs.cfg.region == 'iad'", true)]
    // functions
    [InlineData("contains(inputs.branch, 'login')", true)]
    [InlineData("contains(inputs.branch, 'LOGIN')", false)]
    [InlineData("contains(inputs.tags, 'b')", true)]
    [InlineData("contains(inputs.tags, 'c')", false)]
    [InlineData("startsWith(inputs.branch, 'feature/')", true)]
    [InlineData("startsWith(steps.probe.outputs.out, 'error')", false)]
    [InlineData("success()", true)]
    [InlineData("failure()", false)]
    [InlineData("cancelled()", false)]
    [InlineData("always()", true)]
    [InlineData("${{ inputs.count == 3 }}", true)]
    public void Expression_evaluates_to_its_truth_value(string expression, bool expected)
    {
        Assert.Equal(expected, ExpressionEvaluator.IsTrue(expression, s_context));
    }

    [Fact]
    public void Status_functions_follow_failures_and_cancellation()
    {
        var failed = s_context with
        {
            Steps = new Dictionary<string, StepResult> { ["a"] = new(StepStatus.Failed, new Dictionary<string, WorkflowValue>()) },
        };
        var tolerated = s_context with
        {
            Steps = new Dictionary<string, StepResult> { ["a"] = new(StepStatus.FailedAndContinued, new Dictionary<string, WorkflowValue>()) },
        };
        var cancelled = s_context with { IsCancelled = true };

        Assert.Equal((false, true, false), Status(failed));
        Assert.Equal((true, false, false), Status(tolerated));
        Assert.Equal((false, false, true), Status(cancelled));
        Assert.Equal("failed", ExpressionEvaluator.Evaluate(ExpressionParser.Parse("steps.a.status"), tolerated).ToText());

        static (bool, bool, bool) Status(ExpressionContext context) =>
            (ExpressionEvaluator.IsTrue("success()", context), ExpressionEvaluator.IsTrue("failure()", context), ExpressionEvaluator.IsTrue("cancelled()", context));
    }

    [Theory]
    // if, is finally, failed, cancelled -> runs
    [InlineData(null, false, false, false, true)]
    [InlineData(null, false, true, false, false)]
    [InlineData(null, true, true, false, true)]
    [InlineData("inputs.deploy", false, false, false, true)]
    [InlineData("inputs.deploy", false, true, false, false)]
    [InlineData("failure()", false, true, false, true)]
    [InlineData("always()", false, false, true, true)]
    [InlineData("(failure() || cancelled()) && !inputs.keep", true, false, false, false)]
    [InlineData("(failure() || cancelled()) && !inputs.keep", true, true, false, true)]
    [InlineData("(failure() || cancelled()) && !inputs.keep", true, false, true, true)]
    public void Should_run_applies_the_implicit_success_rule_outside_finally(string? condition, bool isFinally, bool failed, bool cancelled, bool expected)
    {
        var context = s_context with
        {
            IsCancelled = cancelled,
            Steps = failed
                ? new Dictionary<string, StepResult> { ["a"] = new(StepStatus.Failed, new Dictionary<string, WorkflowValue>()) }
                : s_context.Steps,
        };
        var step = new StepDefinition("s", StepTypes.Sleep, new([]), new([]), condition, null, null, false, new([]));

        Assert.Equal(expected, ExpressionEvaluator.ShouldRun(step, context, isFinally));
    }

    [Fact]
    public void Finally_cleanup_keeps_the_instance_when_keep_is_true()
    {
        var keep = s_context with
        {
            Inputs = new Dictionary<string, WorkflowValue> { ["keep"] = WorkflowValue.True },
            Steps = new Dictionary<string, StepResult> { ["a"] = new(StepStatus.Failed, new Dictionary<string, WorkflowValue>()) },
        };

        Assert.False(ExpressionEvaluator.IsTrue("(failure() || cancelled()) && !inputs.keep", keep));
    }

    [Theory]
    [InlineData("inputs.a ==", WorkflowErrorCodes.ExpressionSyntax)]
    [InlineData("(true", WorkflowErrorCodes.ExpressionSyntax)]
    [InlineData("'unterminated", WorkflowErrorCodes.ExpressionSyntax)]
    [InlineData("a = b", WorkflowErrorCodes.ExpressionSyntax)]
    [InlineData("inputs.a; rm -rf /", WorkflowErrorCodes.ExpressionSyntax)]
    [InlineData("contains('a')", WorkflowErrorCodes.ExpressionSyntax)]
    [InlineData("System.IO.File.Delete('x')", WorkflowErrorCodes.UnknownFunction)]
    [InlineData("eval('1')", WorkflowErrorCodes.UnknownFunction)]
    [InlineData("inputs.", WorkflowErrorCodes.ExpressionSyntax)]
    public void Invalid_expression_is_a_syntax_error_with_a_code(string expression, string code)
    {
        var exception = Assert.Throws<ExpressionSyntaxException>(() => ExpressionParser.Parse(expression));

        Assert.Equal(code, exception.Code);
        Assert.InRange(exception.Position, 0, expression.Length);
    }

    [Fact]
    public void Parser_builds_the_expected_tree_with_precedence()
    {
        var tree = ExpressionParser.Parse("!a.b || c == 1 && d < 'x'");

        var or = Assert.IsType<BinaryExpression>(tree);
        Assert.Equal(BinaryOperator.Or, or.Operator);
        Assert.Equal(new ReferenceExpression(new(["a", "b"]), 1), Assert.IsType<NotExpression>(or.Left).Operand);
        var and = Assert.IsType<BinaryExpression>(or.Right);
        Assert.Equal(BinaryOperator.And, and.Operator);
        Assert.Equal(BinaryOperator.Equal, Assert.IsType<BinaryExpression>(and.Left).Operator);
        Assert.Equal(BinaryOperator.Less, Assert.IsType<BinaryExpression>(and.Right).Operator);
    }

    [Fact]
    public void Template_renders_references_and_keeps_the_type_of_a_sole_interpolation()
    {
        var context = s_context with
        {
            Instance = new InstanceInfo("m-1", "box", "iad", "fdaa::3", null),
        };

        Assert.Equal("run-42/demo on fdaa::3 (feature/login)",
            TemplateRenderer.Render("${{ run.id }}/${{ run.workflow }} on ${{ instance.private_ip }} (${{ inputs.branch }})", context));
        Assert.Equal(new NumberValue(3), TemplateRenderer.RenderValue(new StringValue("${{ inputs.count }}"), context));
        Assert.Equal(new StringValue("n=3"), TemplateRenderer.RenderValue(new StringValue("n=${{ inputs.count }}"), context));
        Assert.Equal(new StringValue("no template here"), TemplateRenderer.RenderValue(new StringValue("no template here"), context));
        Assert.Equal("x }} y", TemplateRenderer.Render("${{ 'x }} y' }}", context));
    }
}
