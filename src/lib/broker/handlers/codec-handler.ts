import { apiSpec } from '../../protocol/apis.js'
import { decodeMessage, encodeMessage, type Message } from '../../protocol/schema.js'
import type { ApiHandler, RequestContext } from './types.js'

export type CodecHandle = (ctx: RequestContext, req: Message) => Message | null | Promise<Message | null>

/**
 * An ApiHandler over Apache Kafka 3.9's descriptors for `key`: decode the request, handle it, encode
 * the answer (null = send nothing, Produce acks=0). It advertises 3.9's whole validVersions range,
 * flexible versions included; a handler that cannot serve some versions answers them with an error
 * code in the response, so the connection stays up.
 */
export function codecHandler(key: number, handle: CodecHandle): ApiHandler {
  const api = apiSpec(key)
  const encode = (ctx: RequestContext, res: Message | null) =>
    res === null ? null : encodeMessage(api.response, ctx.apiVersion, res)
  return {
    key,
    name: api.name,
    minVersion: api.valid[0],
    maxVersion: api.valid[1],
    handle(ctx, body) {
      const req = decodeMessage(api.request, ctx.apiVersion, body)
      if (ctx.broker.debug) {
        ctx.broker.log('debug', `${api.name} v${ctx.apiVersion} from ${ctx.clientId || ctx.clientHost}`, {
          api: api.name,
          apiVersion: ctx.apiVersion,
        })
      }
      const res = handle(ctx, req)
      return res instanceof Promise ? res.then((m) => encode(ctx, m)) : encode(ctx, res)
    },
  }
}
