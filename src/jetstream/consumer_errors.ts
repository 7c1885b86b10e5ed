/**
 * The JetStream API errors the consumer layer answers with: code, err_code and description as in
 * nats-server 2.9.10's jetstream_errors_generated.go (clients switch on err_code).
 */

/** An API error as it goes on the wire: `{"code":..,"err_code":..,"description":".."}`. */
export class ApiError extends Error {
  override name = "ApiError";
  constructor(readonly code: number, readonly errCode: number, readonly description: string) {
    super(`${description} (${errCode})`);
  }

  toJSON(): Record<string, unknown> {
    return { code: this.code, err_code: this.errCode, description: this.description };
  }
}

const e = (code: number, errCode: number, description: string) => () =>
  new ApiError(code, errCode, description);

export const JSErr = {
  consumerBadDurableName: e(400, 10103, "durable name can not contain '.', '*', '>'"),
  consumerConfigRequired: e(400, 10078, "consumer config required"),
  consumerCreateDurableAndNameMismatch: e(
    400,
    10132,
    "Consumer Durable and Name have to be equal if both are provided",
  ),
  /** A refusal that is not an ApiError: code 500, the error's text. */
  consumerCreate: (err: string) => new ApiError(500, 10012, err),
  consumerCreateFilterSubjectMismatch: e(
    400,
    10131,
    "Consumer create request did not match filtered subject from create subject",
  ),
  consumerDeliverCycle: e(400, 10081, "consumer deliver subject forms a cycle"),
  consumerDeliverToWildcards: e(400, 10079, "consumer deliver subject has wildcards"),
  consumerDescriptionTooLong: (max: number) =>
    new ApiError(400, 10107, `consumer description is too long, maximum allowed is ${max}`),
  consumerDirectRequiresEphemeral: e(400, 10091, "consumer direct requires an ephemeral consumer"),
  consumerDirectRequiresPush: e(400, 10090, "consumer direct requires a push based consumer"),
  consumerDurableNameNotInSubject: e(
    400,
    10016,
    "consumer expected to be durable but no durable name set in subject",
  ),
  consumerDurableNameNotMatchSubject: e(
    400,
    10017,
    "consumer name in subject does not match durable name in request",
  ),
  consumerDurableNameNotSet: e(
    400,
    10018,
    "consumer expected to be durable but a durable name was not set",
  ),
  consumerEphemeralWithDurableName: e(
    400,
    10020,
    "consumer expected to be ephemeral but a durable name was set in request",
  ),
  consumerFCRequiresPush: e(400, 10089, "consumer flow control requires a push based consumer"),
  consumerFilterNotSubset: e(
    400,
    10093,
    "consumer filter subject is not a valid subset of the interest subjects",
  ),
  consumerHBRequiresPush: e(400, 10088, "consumer idle heartbeat requires a push based consumer"),
  consumerInvalidDeliverSubject: e(400, 10112, "invalid push consumer deliver subject"),
  consumerInvalidPolicy: (err: string) => new ApiError(400, 10094, err),
  consumerInvalidSampling: (err: string) =>
    new ApiError(400, 10095, `failed to parse consumer sampling configuration: ${err}`),
  consumerMaxDeliverBackoff: e(
    400,
    10116,
    "max deliver is required to be > length of backoff values",
  ),
  consumerMaxPendingAckExcess: (limit: number) =>
    new ApiError(400, 10121, `consumer max ack pending exceeds system limit of ${limit}`),
  consumerMaxPendingAckPolicyRequired: e(
    400,
    10082,
    "consumer requires ack policy for max ack pending",
  ),
  consumerMaxRequestBatchExceeded: (limit: number) =>
    new ApiError(400, 10125, `consumer max request batch exceeds server limit of ${limit}`),
  consumerMaxRequestBatchNegative: e(400, 10114, "consumer max request batch needs to be > 0"),
  consumerMaxRequestExpiresToSmall: e(
    400,
    10115,
    "consumer max request expires needs to be >= 1ms",
  ),
  consumerMaxWaitingNegative: e(400, 10087, "consumer max waiting needs to be positive"),
  consumerNameContainsPathSeparators: e(
    400,
    10127,
    "Consumer name can not contain path separators",
  ),
  consumerNameExist: e(400, 10013, "consumer name already in use"),
  consumerNameTooLong: (max: number) =>
    new ApiError(400, 10102, `consumer name is too long, maximum allowed is ${max}`),
  consumerNotFound: e(404, 10014, "consumer not found"),
  consumerPullRequiresAck: e(400, 10084, "consumer in pull mode requires ack policy"),
  consumerPullWithRateLimit: e(400, 10086, "consumer in pull mode can not have rate limit set"),
  consumerPushMaxWaiting: e(400, 10080, "consumer in push mode can not set max waiting"),
  consumerReplicasExceedsStream: e(
    400,
    10126,
    "consumer config replica count exceeds parent stream",
  ),
  consumerSmallHeartbeat: e(400, 10083, "consumer idle heartbeat needs to be >= 100ms"),
  consumerStoreFailed: (err: string) =>
    new ApiError(500, 10104, `error creating store for consumer: ${err}`),
  consumerWQConsumerNotDeliverAll: e(
    400,
    10101,
    "consumer must be deliver all on workqueue stream",
  ),
  consumerWQConsumerNotUnique: e(400, 10100, "filtered consumer not unique on workqueue stream"),
  consumerWQMultipleUnfiltered: e(
    400,
    10099,
    "multiple non-filtered consumers not allowed on workqueue stream",
  ),
  consumerWQRequiresExplicitAck: e(400, 10098, "workqueue stream requires explicit ack"),
  consumerWithFlowControlNeedsHeartbeats: e(
    400,
    10108,
    "consumer with flow control also needs heartbeats",
  ),
  invalidJSON: e(400, 10025, "invalid JSON"),
  maximumConsumersLimit: e(400, 10026, "maximum consumers limit reached"),
  notEmptyRequest: e(400, 10038, "expected an empty request payload"),
  replicasCountCannotBeNegative: e(400, 10133, "replicas count cannot be negative"),
  streamGeneral: (err: string) => new ApiError(500, 10051, err),
  streamMismatch: e(400, 10056, "stream name in subject does not match request"),
  streamNotFound: e(404, 10059, "stream not found"),
  streamReplicasNotSupported: e(500, 10074, "replicas > 1 not supported in non-clustered mode"),
};
