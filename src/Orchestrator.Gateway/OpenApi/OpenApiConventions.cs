using System.Text.Json.Nodes;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace Orchestrator.Gateway.OpenApi;

/// <summary>
/// What the OpenAPI generator cannot infer from handlers that read the request by hand and write their own
/// responses: query and header parameters, request bodies with several media types, and responses whose media
/// types have different schemas (streams). Each adds an operation transformer to the endpoint.
/// </summary>
public static class OpenApiConventions
{
    /// <summary>Documents a query parameter of type <typeparamref name="T"/> that the handler reads from <c>HttpRequest.Query</c>.</summary>
    public static RouteHandlerBuilder WithQueryParameter<T>(this RouteHandlerBuilder builder, string name, string description, params string[] values) =>
        builder.WithParameter(ParameterLocation.Query, name, description, typeof(T), required: false, values);

    /// <summary>Documents a request header the handler reads.</summary>
    public static RouteHandlerBuilder WithHeaderParameter(this RouteHandlerBuilder builder, string name, string description, params string[] values) =>
        builder.WithParameter(ParameterLocation.Header, name, description, typeof(string), required: false, values);

    /// <summary>Describes a path parameter the generator found in the route.</summary>
    public static RouteHandlerBuilder WithPathParameter(this RouteHandlerBuilder builder, string name, string description) =>
        builder.WithParameter(ParameterLocation.Path, name, description, typeof(string), required: true, []);

    /// <summary>
    /// Documents a request body of <paramref name="type"/> (a JSON schema) in each of <paramref name="mediaTypes"/>;
    /// a null type documents a body of text.
    /// </summary>
    public static RouteHandlerBuilder WithRequestBody(this RouteHandlerBuilder builder, Type? type, string description, bool required, params string[] mediaTypes) =>
        builder.AddOpenApiOperationTransformer(async (operation, context, cancellationToken) =>
        {
            var content = new Dictionary<string, OpenApiMediaType>(StringComparer.Ordinal);
            foreach (var mediaType in mediaTypes)
            {
                content[mediaType] = new OpenApiMediaType { Schema = await SchemaForAsync(context, type, cancellationToken) };
            }

            operation.RequestBody = new OpenApiRequestBody { Description = description, Required = required, Content = content };
        });

    /// <summary>
    /// Documents a response with <paramref name="statusCode"/> in each of <paramref name="mediaTypes"/>: its body is
    /// one of <paramref name="oneOf"/> (one type: that type; none: no body). Calls for the same status add media types.
    /// </summary>
    public static RouteHandlerBuilder WithResponse(this RouteHandlerBuilder builder, int statusCode, string description, Type[] oneOf, params string[] mediaTypes) =>
        builder.AddOpenApiOperationTransformer(async (operation, context, cancellationToken) =>
        {
            operation.Responses ??= [];
            var key = statusCode.ToString(System.Globalization.CultureInfo.InvariantCulture);
            if (!operation.Responses.TryGetValue(key, out var existing) || existing is not OpenApiResponse response)
            {
                response = new OpenApiResponse();
                operation.Responses[key] = response;
            }

            response.Description = description;
            if (oneOf.Length == 0)
            {
                return;
            }

            IOpenApiSchema schema = oneOf.Length == 1
                ? await SchemaForAsync(context, oneOf[0], cancellationToken)
                : new OpenApiSchema { OneOf = [.. await Task.WhenAll(oneOf.Select(t => SchemaForAsync(context, t, cancellationToken)))] };
            response.Content ??= new Dictionary<string, OpenApiMediaType>(StringComparer.Ordinal);
            foreach (var mediaType in mediaTypes)
            {
                response.Content[mediaType] = new OpenApiMediaType { Schema = schema };
            }
        });

    /// <summary>Documents a header of the response with <paramref name="statusCode"/> (such as <c>Location</c>).</summary>
    public static RouteHandlerBuilder WithResponseHeader(this RouteHandlerBuilder builder, int statusCode, string name, string description) =>
        builder.AddOpenApiOperationTransformer((operation, _, _) =>
        {
            var key = statusCode.ToString(System.Globalization.CultureInfo.InvariantCulture);
            if (operation.Responses?.GetValueOrDefault(key) is OpenApiResponse response)
            {
                response.Headers ??= new Dictionary<string, IOpenApiHeader>(StringComparer.OrdinalIgnoreCase);
                response.Headers[name] = new OpenApiHeader { Description = description, Schema = new OpenApiSchema { Type = JsonSchemaType.String } };
            }

            return Task.CompletedTask;
        });

    /// <summary>Documents problem details (<c>application/problem+json</c>) answers with each status code.</summary>
    public static RouteHandlerBuilder ProducesProblems(this RouteHandlerBuilder builder, params int[] statusCodes)
    {
        foreach (var statusCode in statusCodes)
        {
            builder.ProducesProblem(statusCode);
        }

        return builder;
    }

    /// <summary>Documents an instance state change (start, stop, restart): 202 with the instance, and what Fly can answer.</summary>
    public static RouteHandlerBuilder WithTransition(this RouteHandlerBuilder builder, string summary, string description) =>
        builder
            .WithSummary(summary)
            .WithDescription(description)
            .WithPathParameter("id", "The instance's name.")
            .Produces<Instances.InstanceResponse>(StatusCodes.Status202Accepted)
            .WithResponseHeader(StatusCodes.Status202Accepted, "Location", "The instance's URL, to poll.")
            .ProducesProblems(400, 404, 409, 422, 429, 502, 503);

    /// <summary>Documents a run action (cancel, retry, signal): 202 with the run.</summary>
    public static RouteHandlerBuilder WithRunAction(this RouteHandlerBuilder builder, string summary, string description) =>
        builder
            .WithSummary(summary)
            .WithDescription(description)
            .WithPathParameter("id", "The run's id.")
            .Produces<Runs.RunResponse>(StatusCodes.Status202Accepted)
            .WithResponseHeader(StatusCodes.Status202Accepted, "Location", "The run's URL.")
            .ProducesProblems(400, 404, 409);

    private static RouteHandlerBuilder WithParameter(this RouteHandlerBuilder builder, ParameterLocation location, string name, string description, Type type, bool required, string[] values) =>
        builder.AddOpenApiOperationTransformer(async (operation, context, cancellationToken) =>
        {
            operation.Parameters ??= [];
            var existing = operation.Parameters.OfType<OpenApiParameter>().FirstOrDefault(p => p.In == location && string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase));
            if (existing is not null)
            {
                existing.Description = description;
                return;
            }

            var schema = await context.GetOrCreateSchemaAsync(type, null, cancellationToken);
            if (values.Length > 0)
            {
                schema.Enum = [.. values.Select(static v => (JsonNode)JsonValue.Create(v))];
            }

            operation.Parameters.Add(new OpenApiParameter { Name = name, In = location, Description = description, Required = required, Schema = schema });
        });

    /// <summary>
    /// The schema of <paramref name="type"/>; this assembly's types become named components (as the generator makes
    /// of the types it infers), so the reference shows them by name rather than inline.
    /// </summary>
    private static async Task<IOpenApiSchema> SchemaForAsync(OpenApiOperationTransformerContext context, Type? type, CancellationToken cancellationToken)
    {
        if (type is null)
        {
            return new OpenApiSchema { Type = JsonSchemaType.String };
        }

        var schema = await context.GetOrCreateSchemaAsync(type, null, cancellationToken);
        return context.Document is { } document && type.Assembly == typeof(OpenApiConventions).Assembly
            ? Component(document, type.Name, schema)
            : schema;
    }

    /// <summary>A reference to the component <paramref name="id"/>, added as <paramref name="schema"/> when the document has none yet.</summary>
    internal static OpenApiSchemaReference Component(OpenApiDocument document, string id, IOpenApiSchema schema)
    {
        if (document.Components?.Schemas?.ContainsKey(id) is not true)
        {
            document.AddComponent(id, schema);
        }

        return new OpenApiSchemaReference(id, document);
    }
}
