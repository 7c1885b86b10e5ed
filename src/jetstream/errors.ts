/**
 * nats-server 2.9.10's JetStream API errors (jetstream_errors_generated.go): the HTTP-like
 * `code`, the stable `err_code` clients switch on, and the description, some of them templates
 * with `{placeholders}`. Responses and publish acks carry them as
 * `"error":{"code":..,"err_code":..,"description":".."}`.
 */

/** An API error as nats-server's ApiError: thrown by the stream layer, answered by the router. */
export class ApiError extends Error {
  override name = "ApiError";
  constructor(readonly code: number, readonly errCode: number, readonly description: string) {
    super(`${description} (${errCode})`);
  }

  /** nats-server's JSON: err_code and description are omitted when empty. */
  toJSON(): Record<string, unknown> {
    const o: Record<string, unknown> = { code: this.code };
    if (this.errCode !== 0) o.err_code = this.errCode;
    if (this.description !== "") o.description = this.description;
    return o;
  }
}

/** name -> [code, err_code, description], names as nats-server's constants. */
export const JS_ERRORS = {
  JSAccountResourcesExceededErr: [400, 10002, "resource limits exceeded for account"],
  JSBadRequestErr: [400, 10003, "bad request"],
  JSClusterIncompleteErr: [503, 10004, "incomplete results"],
  JSClusterNoPeersErrF: [400, 10005, "{err}"],
  JSClusterNotActiveErr: [500, 10006, "JetStream not in clustered mode"],
  JSClusterNotAssignedErr: [500, 10007, "JetStream cluster not assigned to this server"],
  JSClusterNotAvailErr: [503, 10008, "JetStream system temporarily unavailable"],
  JSClusterNotLeaderErr: [500, 10009, "JetStream cluster can not handle request"],
  JSClusterPeerNotMemberErr: [400, 10040, "peer not a member"],
  JSClusterRequiredErr: [503, 10010, "JetStream clustering support required"],
  JSClusterServerNotMemberErr: [400, 10044, "server is not a member of the cluster"],
  JSClusterTagsErr: [400, 10011, "tags placement not supported for operation"],
  JSClusterUnSupportFeatureErr: [503, 10036, "not currently supported in clustered mode"],
  JSConsumerBadDurableNameErr: [400, 10103, "durable name can not contain '.', '*', '>'"],
  JSConsumerConfigRequiredErr: [400, 10078, "consumer config required"],
  JSConsumerCreateDurableAndNameMismatch: [
    400,
    10132,
    "Consumer Durable and Name have to be equal if both are provided",
  ],
  JSConsumerCreateErrF: [500, 10012, "{err}"],
  JSConsumerCreateFilterSubjectMismatchErr: [
    400,
    10131,
    "Consumer create request did not match filtered subject from create subject",
  ],
  JSConsumerDeliverCycleErr: [400, 10081, "consumer deliver subject forms a cycle"],
  JSConsumerDeliverToWildcardsErr: [400, 10079, "consumer deliver subject has wildcards"],
  JSConsumerDescriptionTooLongErrF: [
    400,
    10107,
    "consumer description is too long, maximum allowed is {max}",
  ],
  JSConsumerDirectRequiresEphemeralErr: [
    400,
    10091,
    "consumer direct requires an ephemeral consumer",
  ],
  JSConsumerDirectRequiresPushErr: [400, 10090, "consumer direct requires a push based consumer"],
  JSConsumerDurableNameNotInSubjectErr: [
    400,
    10016,
    "consumer expected to be durable but no durable name set in subject",
  ],
  JSConsumerDurableNameNotMatchSubjectErr: [
    400,
    10017,
    "consumer name in subject does not match durable name in request",
  ],
  JSConsumerDurableNameNotSetErr: [
    400,
    10018,
    "consumer expected to be durable but a durable name was not set",
  ],
  JSConsumerEphemeralWithDurableInSubjectErr: [
    400,
    10019,
    "consumer expected to be ephemeral but detected a durable name set in subject",
  ],
  JSConsumerEphemeralWithDurableNameErr: [
    400,
    10020,
    "consumer expected to be ephemeral but a durable name was set in request",
  ],
  JSConsumerExistingActiveErr: [400, 10105, "consumer already exists and is still active"],
  JSConsumerFCRequiresPushErr: [400, 10089, "consumer flow control requires a push based consumer"],
  JSConsumerFilterNotSubsetErr: [
    400,
    10093,
    "consumer filter subject is not a valid subset of the interest subjects",
  ],
  JSConsumerHBRequiresPushErr: [
    400,
    10088,
    "consumer idle heartbeat requires a push based consumer",
  ],
  JSConsumerInvalidDeliverSubject: [400, 10112, "invalid push consumer deliver subject"],
  JSConsumerInvalidPolicyErrF: [400, 10094, "{err}"],
  JSConsumerInvalidSamplingErrF: [
    400,
    10095,
    "failed to parse consumer sampling configuration: {err}",
  ],
  JSConsumerMaxDeliverBackoffErr: [
    400,
    10116,
    "max deliver is required to be > length of backoff values",
  ],
  JSConsumerMaxPendingAckExcessErrF: [
    400,
    10121,
    "consumer max ack pending exceeds system limit of {limit}",
  ],
  JSConsumerMaxPendingAckPolicyRequiredErr: [
    400,
    10082,
    "consumer requires ack policy for max ack pending",
  ],
  JSConsumerMaxRequestBatchExceededF: [
    400,
    10125,
    "consumer max request batch exceeds server limit of {limit}",
  ],
  JSConsumerMaxRequestBatchNegativeErr: [400, 10114, "consumer max request batch needs to be > 0"],
  JSConsumerMaxRequestExpiresToSmall: [
    400,
    10115,
    "consumer max request expires needs to be >= 1ms",
  ],
  JSConsumerMaxWaitingNegativeErr: [400, 10087, "consumer max waiting needs to be positive"],
  JSConsumerNameContainsPathSeparatorsErr: [
    400,
    10127,
    "Consumer name can not contain path separators",
  ],
  JSConsumerNameExistErr: [400, 10013, "consumer name already in use"],
  JSConsumerNameTooLongErrF: [400, 10102, "consumer name is too long, maximum allowed is {max}"],
  JSConsumerNotFoundErr: [404, 10014, "consumer not found"],
  JSConsumerOfflineErr: [500, 10119, "consumer is offline"],
  JSConsumerOnMappedErr: [400, 10092, "consumer direct on a mapped consumer"],
  JSConsumerPullNotDurableErr: [400, 10085, "consumer in pull mode requires a durable name"],
  JSConsumerPullRequiresAckErr: [400, 10084, "consumer in pull mode requires ack policy"],
  JSConsumerPullWithRateLimitErr: [400, 10086, "consumer in pull mode can not have rate limit set"],
  JSConsumerPushMaxWaitingErr: [400, 10080, "consumer in push mode can not set max waiting"],
  JSConsumerReplacementWithDifferentNameErr: [
    400,
    10106,
    "consumer replacement durable config not the same",
  ],
  JSConsumerReplicasExceedsStream: [
    400,
    10126,
    "consumer config replica count exceeds parent stream",
  ],
  JSConsumerSmallHeartbeatErr: [400, 10083, "consumer idle heartbeat needs to be >= 100ms"],
  JSConsumerStoreFailedErrF: [500, 10104, "error creating store for consumer: {err}"],
  JSConsumerWQConsumerNotDeliverAllErr: [
    400,
    10101,
    "consumer must be deliver all on workqueue stream",
  ],
  JSConsumerWQConsumerNotUniqueErr: [
    400,
    10100,
    "filtered consumer not unique on workqueue stream",
  ],
  JSConsumerWQMultipleUnfilteredErr: [
    400,
    10099,
    "multiple non-filtered consumers not allowed on workqueue stream",
  ],
  JSConsumerWQRequiresExplicitAckErr: [400, 10098, "workqueue stream requires explicit ack"],
  JSConsumerWithFlowControlNeedsHeartbeats: [
    400,
    10108,
    "consumer with flow control also needs heartbeats",
  ],
  JSInsufficientResourcesErr: [503, 10023, "insufficient resources"],
  JSInvalidJSONErr: [400, 10025, "invalid JSON"],
  JSMaximumConsumersLimitErr: [400, 10026, "maximum consumers limit reached"],
  JSMaximumStreamsLimitErr: [400, 10027, "maximum number of streams reached"],
  JSMemoryResourcesExceededErr: [500, 10028, "insufficient memory resources available"],
  JSMirrorConsumerSetupFailedErrF: [500, 10029, "{err}"],
  JSMirrorMaxMessageSizeTooBigErr: [
    400,
    10030,
    "stream mirror must have max message size >= source",
  ],
  JSMirrorWithSourcesErr: [400, 10031, "stream mirrors can not also contain other sources"],
  JSMirrorWithStartSeqAndTimeErr: [
    400,
    10032,
    "stream mirrors can not have both start seq and start time configured",
  ],
  JSMirrorWithSubjectFiltersErr: [400, 10033, "stream mirrors can not contain filtered subjects"],
  JSMirrorWithSubjectsErr: [400, 10034, "stream mirrors can not contain subjects"],
  JSNoAccountErr: [503, 10035, "account not found"],
  JSNoLimitsErr: [400, 10120, "no JetStream default or applicable tiered limit present"],
  JSNoMessageFoundErr: [404, 10037, "no message found"],
  JSNotEmptyRequestErr: [400, 10038, "expected an empty request payload"],
  JSNotEnabledErr: [503, 10076, "JetStream not enabled"],
  JSNotEnabledForAccountErr: [503, 10039, "JetStream not enabled for account"],
  JSPeerRemapErr: [503, 10075, "peer remap failed"],
  JSRaftGeneralErrF: [500, 10041, "{err}"],
  JSReplicasCountCannotBeNegative: [400, 10133, "replicas count cannot be negative"],
  JSRestoreSubscribeFailedErrF: [
    500,
    10042,
    "JetStream unable to subscribe to restore snapshot {subject}: {err}",
  ],
  JSSequenceNotFoundErrF: [400, 10043, "sequence {seq} not found"],
  JSSnapshotDeliverSubjectInvalidErr: [400, 10015, "deliver subject not valid"],
  JSSourceConsumerSetupFailedErrF: [500, 10045, "{err}"],
  JSSourceMaxMessageSizeTooBigErr: [
    400,
    10046,
    "stream source must have max message size >= target",
  ],
  JSStorageResourcesExceededErr: [500, 10047, "insufficient storage resources available"],
  JSStreamAssignmentErrF: [500, 10048, "{err}"],
  JSStreamCreateErrF: [500, 10049, "{err}"],
  JSStreamDeleteErrF: [500, 10050, "{err}"],
  JSStreamExternalApiOverlapErrF: [
    400,
    10021,
    "stream external api prefix {prefix} must not overlap with {subject}",
  ],
  JSStreamExternalDelPrefixOverlapsErrF: [
    400,
    10022,
    "stream external delivery prefix {prefix} overlaps with stream subject {subject}",
  ],
  JSStreamGeneralErrorF: [500, 10051, "{err}"],
  JSStreamHeaderExceedsMaximumErr: [400, 10097, "header size exceeds maximum allowed of 64k"],
  JSStreamInfoMaxSubjectsErr: [500, 10117, "subject details would exceed maximum allowed"],
  JSStreamInvalidConfigF: [500, 10052, "{err}"],
  JSStreamInvalidErr: [500, 10096, "stream not valid"],
  JSStreamInvalidExternalDeliverySubjErrF: [
    400,
    10024,
    "stream external delivery prefix {prefix} must not contain wildcards",
  ],
  JSStreamLimitsErrF: [500, 10053, "{err}"],
  JSStreamMaxBytesRequired: [400, 10113, "account requires a stream config to have max bytes set"],
  JSStreamMaxStreamBytesExceeded: [
    400,
    10122,
    "stream max bytes exceeds account limit max stream bytes",
  ],
  JSStreamMessageExceedsMaximumErr: [400, 10054, "message size exceeds maximum allowed"],
  JSStreamMirrorNotUpdatableErr: [400, 10055, "stream mirror configuration can not be updated"],
  JSStreamMismatchErr: [400, 10056, "stream name in subject does not match request"],
  JSStreamMoveAndScaleErr: [400, 10123, "can not move and scale a stream in a single update"],
  JSStreamMoveInProgressF: [400, 10124, "stream move already in progress: {msg}"],
  JSStreamMoveNotInProgress: [400, 10129, "stream move not in progress"],
  JSStreamMsgDeleteFailedF: [500, 10057, "{err}"],
  JSStreamNameContainsPathSeparatorsErr: [
    400,
    10128,
    "Stream name can not contain path separators",
  ],
  JSStreamNameExistErr: [400, 10058, "stream name already in use with a different configuration"],
  JSStreamNameExistRestoreFailedErr: [400, 10130, "stream name already in use, cannot restore"],
  JSStreamNotFoundErr: [404, 10059, "stream not found"],
  JSStreamNotMatchErr: [400, 10060, "expected stream does not match"],
  JSStreamOfflineErr: [500, 10118, "stream is offline"],
  JSStreamPurgeFailedF: [500, 10110, "{err}"],
  JSStreamReplicasNotSupportedErr: [500, 10074, "replicas > 1 not supported in non-clustered mode"],
  JSStreamReplicasNotUpdatableErr: [400, 10061, "Replicas configuration can not be updated"],
  JSStreamRestoreErrF: [500, 10062, "restore failed: {err}"],
  JSStreamRollupFailedF: [500, 10111, "{err}"],
  JSStreamSealedErr: [400, 10109, "invalid operation on sealed stream"],
  JSStreamSequenceNotMatchErr: [503, 10063, "expected stream sequence does not match"],
  JSStreamSnapshotErrF: [500, 10064, "snapshot failed: {err}"],
  JSStreamStoreFailedF: [503, 10077, "{err}"],
  JSStreamSubjectOverlapErr: [400, 10065, "subjects overlap with an existing stream"],
  JSStreamTemplateCreateErrF: [500, 10066, "{err}"],
  JSStreamTemplateDeleteErrF: [500, 10067, "{err}"],
  JSStreamTemplateNotFoundErr: [404, 10068, "template not found"],
  JSStreamUpdateErrF: [500, 10069, "{err}"],
  JSStreamWrongLastMsgIDErrF: [400, 10070, "wrong last msg ID: {id}"],
  JSStreamWrongLastSequenceErrF: [400, 10071, "wrong last sequence: {seq}"],
  JSTempStorageFailedErr: [500, 10072, "JetStream unable to open temp storage for restore"],
  JSTemplateNameNotMatchSubjectErr: [400, 10073, "template name in subject does not match request"],
} as const;

export type JsErrorId = keyof typeof JS_ERRORS;

/** The error `id`, its `{placeholders}` replaced by `args` (errors by their message). */
export function jsError(id: JsErrorId, args: Record<string, unknown> = {}): ApiError {
  const [code, errCode, template] = JS_ERRORS[id];
  let description: string = template;
  for (const [k, v] of Object.entries(args)) {
    const text = v instanceof Error ? v.message : String(v);
    description = description.replaceAll(`{${k}}`, text);
  }
  return new ApiError(code, errCode, description);
}

/**
 * A `{err}` error wrapping `err`, except that an ApiError passes through unchanged
 * (nats-server's `Unless(err)` option).
 */
export function jsErrorUnless(id: JsErrorId, err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  return jsError(id, { err: err instanceof Error ? err : new Error(String(err)) });
}

/** A `stream configuration ...` error (JSStreamInvalidConfigF) with nats-server's text. */
export function invalidConfig(text: string): ApiError {
  return jsError("JSStreamInvalidConfigF", { err: text });
}
