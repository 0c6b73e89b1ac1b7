#!/usr/bin/env node
// Starts dynalite in memory on the given host and port, as its own CLI does with
// --createTableMs 0 --deleteTableMs 0 --updateTableMs 0, and gives it what this project's contract
// needs and dynalite 4.0.0 lacks, so that the engine a newcomer gets runs the whole contract:
//
// - TransactWriteItems: ConditionCheck, Put, Update and Delete items (at least one write), all or
//   nothing, isolated from every other request, answered as DynamoDB answers (a cancelled
//   transaction is a TransactionCanceledException with one cancellation reason per item), with
//   ClientRequestToken idempotency. Other shapes are refused with a ValidationException that says
//   what is unsupported.
// - ReturnValuesOnConditionCheckFailure=ALL_OLD on PutItem, UpdateItem and DeleteItem (dynalite
//   accepts and ignores it): a failed condition returns the item it failed on.
// - It survives clients that abort a request mid-flight: dynalite 4.0.0 rethrows the request's
//   "aborted" error from an event handler, which ends the whole process. DynamoDB itself shrugs
//   such aborts off, and our function does abort lookups it no longer needs.
//
// Everything else is dynalite's own behaviour: requests reach its handler unchanged. Conditions
// are evaluated by dynalite's own evaluator, never by a copy of it here.
//
// Usage: node local/dynalite.js <host> <port>
'use strict'

const crypto = require('crypto')
const { EventEmitter } = require('events')
const { finished } = require('stream')
const zlib = require('zlib')
const dynalite = require('dynalite')

// dynalite's own limit on a request body, kept here because this layer reads bodies first.
const MAX_REQUEST_BYTES = 16 * 1024 * 1024
// DynamoDB's limit on the items of one transaction.
const MAX_TRANSACT_ITEMS = 100
// How long DynamoDB remembers a ClientRequestToken.
const IDEMPOTENCY_WINDOW_MS = 10 * 60 * 1000
const TARGET_PREFIX = 'DynamoDB_20120810.'
const TYPE_PREFIX = 'com.amazonaws.dynamodb.v20120810#'
const CONDITION_FAILED = 'The conditional request failed'
// The attribute a ConditionCheck "removes" to run its condition through dynalite's UpdateItem. It
// is never stored: a random name per process, and items holding it are refused (see probeName).
const PROBE_ATTRIBUTE = 'dynalite_shim_condition_probe_' + crypto.randomBytes(8).toString('hex')
const PROBE_PLACEHOLDER = '#dynaliteShimConditionProbe'

// The members each kind of transaction item may have, and those it must have.
const TRANSACT_MEMBERS = {
  ConditionCheck: {
    required: [ 'TableName', 'Key', 'ConditionExpression' ],
    optional: [ 'ExpressionAttributeNames', 'ExpressionAttributeValues', 'ReturnValuesOnConditionCheckFailure' ],
  },
  Put: {
    required: [ 'TableName', 'Item' ],
    optional: [ 'ConditionExpression', 'ExpressionAttributeNames', 'ExpressionAttributeValues', 'ReturnValuesOnConditionCheckFailure' ],
  },
  Update: {
    required: [ 'TableName', 'Key', 'UpdateExpression' ],
    optional: [ 'ConditionExpression', 'ExpressionAttributeNames', 'ExpressionAttributeValues', 'ReturnValuesOnConditionCheckFailure' ],
  },
  Delete: {
    required: [ 'TableName', 'Key' ],
    optional: [ 'ConditionExpression', 'ExpressionAttributeNames', 'ExpressionAttributeValues', 'ReturnValuesOnConditionCheckFailure' ],
  },
}
const SINGLE_WRITES = new Set([ 'PutItem', 'UpdateItem', 'DeleteItem' ])

/**
 * Gate orders requests. Shared holders (everything dynalite serves itself) run concurrently, as
 * dynalite always ran them; an exclusive holder (a transaction, or a write that must return the
 * item its condition failed on) runs alone, so nothing else reads or writes between its steps.
 * Waiters are served in arrival order: a transaction waits only for the requests already
 * running, and later requests wait for it.
 */
class Gate {
  constructor () {
    this.shared = 0
    this.exclusive = false
    this.waiting = []
  }

  /** enter runs fn(release) once the gate admits it; fn must call release exactly when done. */
  enter (exclusive, fn) {
    this.waiting.push({ exclusive, fn })
    this.admit()
  }

  admit () {
    while (this.waiting.length > 0) {
      const next = this.waiting[0]
      if (this.exclusive || (next.exclusive && this.shared > 0)) return
      this.waiting.shift()
      if (next.exclusive) this.exclusive = true
      else this.shared++
      let released = false
      next.fn(() => {
        if (released) return
        released = true
        if (next.exclusive) this.exclusive = false
        else this.shared--
        this.admit()
      })
    }
  }
}

/** ShimError is an answer this layer gives itself, in DynamoDB's error format. */
class ShimError extends Error {
  constructor (type, message, extra) {
    super(message)
    this.body = Object.assign({ __type: type, message }, extra)
  }
}

function validationError (message) {
  return new ShimError('com.amazon.coral.validate#ValidationException', message)
}

function unsupported (what) {
  return validationError('TransactWriteItems on local dynalite does not support ' + what)
}

/** EngineAnswer carries a non-success answer of dynalite to one step, to be given to the client as is. */
class EngineAnswer extends Error {
  constructor (answer) {
    super('dynalite answered ' + answer.status)
    this.answer = answer
  }
}

function main () {
  const [ host, port ] = process.argv.slice(2)
  if (!host || !port) {
    console.error('usage: node local/dynalite.js <host> <port>')
    process.exit(2)
  }

  process.on('uncaughtException', (err) => {
    if (err && (err.code === 'ECONNRESET' || err.message === 'aborted')) return
    console.error(err)
    process.exit(1)
  })

  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 })
  const shim = new Shim(server.listeners('request')[0])
  server.removeAllListeners('request')
  server.on('request', (req, res) => shim.handle(req, res))
  server.listen(Number(port), host, () => {
    console.log('Dynalite listening at: http://%s:%s', host, server.address().port)
  })
}

/** Shim stands in front of dynalite's own request handler. */
class Shim {
  constructor (dynaliteHandler) {
    this.dynaliteHandler = dynaliteHandler
    this.gate = new Gate()
    // ClientRequestToken -> { request, expires } of transactions that succeeded.
    this.tokens = new Map()
  }

  handle (req, res) {
    const chunks = []
    let size = 0
    // A client that aborts gets no answer; there is nobody left to answer.
    req.on('error', () => {})
    req.on('data', (chunk) => {
      size += chunk.length
      if (size > MAX_REQUEST_BYTES) {
        // As dynalite answers a body over its limit.
        req.removeAllListeners('data')
        req.removeAllListeners('end')
        res.statusCode = 413
        res.setHeader('Transfer-Encoding', 'chunked')
        res.end()
        return
      }
      chunks.push(chunk)
    })
    req.on('end', () => this.dispatch(req, res, Buffer.concat(chunks)))
  }

  dispatch (req, res, body) {
    const target = req.headers['x-amz-target'] || ''
    const op = req.method === 'POST' && target.startsWith(TARGET_PREFIX) ? target.slice(TARGET_PREFIX.length) : ''
    if (op === 'TransactWriteItems') {
      this.respond(req, res, true, () => this.transactWriteItems(req.headers, body))
      return
    }
    if (SINGLE_WRITES.has(op)) {
      const input = parseJSON(body)
      if (input && input.ReturnValuesOnConditionCheckFailure === 'ALL_OLD') {
        // Most such writes succeed, and run beside other requests as dynalite runs them. One
        // whose condition fails runs again alone, so that the item returned is the very item its
        // condition failed on. (The second run may succeed instead: the request is still in
        // flight, so that answer is one DynamoDB could give as well.)
        this.respond(req, res, false, async () => {
          const answer = await this.call(req.headers, op, body)
          return conditionFailed(answer) ? undefined : answer
        }, () => this.respond(req, res, true, () => this.writeReturningOldItem(req.headers, op, input, body)))
        return
      }
    }
    this.gate.enter(false, (release) => {
      // Released once the answer is sent or the client is gone, whichever comes first.
      finished(res, release)
      this.dynaliteHandler(replayedRequest(req.method, req.url, req.headers, body), res)
    })
  }

  /**
   * respond runs produce under the gate (alone when exclusive) and sends the answer it resolves
   * to. When it resolves to undefined, nothing is sent and otherwise (if given) runs after the
   * gate is left.
   */
  respond (req, res, exclusive, produce, otherwise) {
    this.gate.enter(exclusive, (release) => {
      produce().then(
        (answer) => {
          release()
          if (answer === undefined) otherwise()
          else send(req.headers, res, answer)
        },
        (err) => {
          release()
          send(req.headers, res, errorAnswer(err))
        },
      ).catch((err) => console.error('dynalite shim: answer:', err))
    })
  }

  /**
   * call runs one operation through dynalite's own handler, in process, with the client's headers
   * (so dynalite checks them as it checks every request), and resolves to its answer.
   */
  call (headers, op, input) {
    return new Promise((resolve) => {
      const body = Buffer.from(typeof input === 'string' || Buffer.isBuffer(input) ? input : JSON.stringify(input))
      const res = new CapturedResponse(resolve)
      this.dynaliteHandler(replayedRequest('POST', '/', Object.assign({}, headers, { 'x-amz-target': TARGET_PREFIX + op }), body), res)
    })
  }

  /** must is call for a step that has to succeed: anything else ends the request with dynalite's answer. */
  async must (headers, op, input) {
    const answer = await this.call(headers, op, input)
    if (answer.status !== 200) throw new EngineAnswer(answer)
    return answer.json()
  }

  async getItem (headers, tableName, key) {
    const out = await this.must(headers, 'GetItem', { TableName: tableName, Key: key, ConsistentRead: true })
    return out.Item
  }

  async keyOf (headers, tableName, item, schemas) {
    let schema = schemas && schemas.get(tableName)
    if (!schema) {
      const out = await this.must(headers, 'DescribeTable', { TableName: tableName })
      schema = out.Table.KeySchema.map((k) => k.AttributeName)
      if (schemas) schemas.set(tableName, schema)
    }
    const key = {}
    for (const name of schema) key[name] = item[name]
    return key
  }

  /**
   * writeReturningOldItem runs a PutItem, UpdateItem or DeleteItem that asked for
   * ReturnValuesOnConditionCheckFailure=ALL_OLD. It holds the gate exclusively, so the item read
   * after a failed condition is the very item the condition failed on.
   */
  async writeReturningOldItem (headers, op, input, body) {
    const answer = await this.call(headers, op, body)
    if (!conditionFailed(answer)) return answer
    const key = op === 'PutItem' ? await this.keyOf(headers, input.TableName, input.Item) : input.Key
    const item = await this.getItem(headers, input.TableName, key)
    if (!item) return answer
    // DynamoDB's (and moto's) shape: a capitalised Message next to the item.
    return { status: 400, body: JSON.stringify({ __type: TYPE_PREFIX + 'ConditionalCheckFailedException', Message: CONDITION_FAILED, Item: item }) }
  }

  /**
   * transactWriteItems runs a TransactWriteItems request, holding the gate exclusively. It reads
   * every item, evaluates every condition with dynalite's evaluator, and only when all hold
   * applies the writes in order; a write that fails anyway (a type error in an update, an item too
   * large) undoes the writes before it, so no partial transaction is ever observable.
   */
  async transactWriteItems (headers, body) {
    const input = parseJSON(body)
    if (!input || typeof input !== 'object' || Array.isArray(input)) {
      throw new ShimError('com.amazon.coral.service#SerializationException', 'Start of structure or map found where not expected')
    }
    const items = parseTransactItems(input)
    const token = input.ClientRequestToken
    const request = JSON.stringify(items)
    const remembered = this.rememberedToken(token)
    if (remembered) {
      if (remembered.request !== request) {
        throw new ShimError(TYPE_PREFIX + 'IdempotentParameterMismatchException',
          'Request with same ClientRequestToken was made with different parameters within the idempotency window')
      }
      return { status: 200, body: '{}' }
    }

    const schemas = new Map()
    const seen = new Set()
    for (const item of items) {
      item.key = item.kind === 'Put' ? await this.keyOf(headers, item.op.TableName, item.op.Item, schemas) : item.op.Key
      const identity = item.op.TableName + '\u0000' + canonicalJSON(item.key)
      if (seen.has(identity)) throw validationError('Transaction request cannot include multiple operations on one item')
      seen.add(identity)
    }

    // Every condition first: nothing is written unless all hold.
    const reasons = []
    for (const item of items) {
      item.old = await this.getItem(headers, item.op.TableName, item.key)
      reasons.push(await this.checkCondition(headers, item))
    }
    if (reasons.some((r) => r.Code !== 'None')) {
      const message = 'Transaction cancelled, please refer cancellation reasons for specific reasons [' +
        reasons.map((r) => r.Code).join(', ') + ']'
      // Key order as DynamoDB and moto send it.
      return { status: 400, body: JSON.stringify({ __type: TYPE_PREFIX + 'TransactionCanceledException', CancellationReasons: reasons, Message: message }) }
    }

    const applied = []
    try {
      for (const item of items) {
        if (item.kind === 'ConditionCheck') continue
        await this.must(headers, item.kind + 'Item', withoutShimFields(item.op))
        applied.push(item)
      }
    }
    catch (err) {
      await this.undo(headers, applied)
      throw err
    }
    if (token !== undefined) this.tokens.set(token, { request, expires: Date.now() + IDEMPOTENCY_WINDOW_MS })
    return { status: 200, body: '{}' }
  }

  /**
   * checkCondition evaluates item's condition against its current state and returns its
   * cancellation reason. dynalite evaluates conditions only inside writes, so the condition rides
   * on an UpdateItem that removes an attribute no item holds: when the condition holds it rewrites
   * the item unchanged (or creates a bare key when there is no item, which is deleted again at
   * once); when it fails it writes nothing. The gate is held, so neither is ever observed.
   */
  async checkCondition (headers, item) {
    const op = item.op
    if (op.ConditionExpression === undefined) return { Code: 'None' }
    if (item.old && PROBE_ATTRIBUTE in item.old) throw new Error('item holds the probe attribute ' + PROBE_ATTRIBUTE)
    const probe = {
      TableName: op.TableName,
      Key: item.key,
      ConditionExpression: op.ConditionExpression,
      UpdateExpression: 'REMOVE ' + PROBE_PLACEHOLDER,
      ExpressionAttributeNames: Object.assign({}, usedBy(op.ConditionExpression, op.ExpressionAttributeNames, item.kind), { [PROBE_PLACEHOLDER]: PROBE_ATTRIBUTE }),
    }
    const values = usedBy(op.ConditionExpression, op.ExpressionAttributeValues, item.kind)
    if (values) probe.ExpressionAttributeValues = values
    const answer = await this.call(headers, 'UpdateItem', probe)
    if (answer.status === 200) {
      if (!item.old) await this.must(headers, 'DeleteItem', { TableName: op.TableName, Key: item.key })
      return { Code: 'None' }
    }
    if (conditionFailed(answer)) {
      const reason = { Code: 'ConditionalCheckFailed', Message: CONDITION_FAILED }
      if (op.ReturnValuesOnConditionCheckFailure === 'ALL_OLD' && item.old) reason.Item = item.old
      return reason
    }
    throw new EngineAnswer(answer)
  }

  /** undo restores the items of applied writes, newest first. */
  async undo (headers, applied) {
    for (const item of applied.slice().reverse()) {
      const table = item.op.TableName
      if (item.old) await this.must(headers, 'PutItem', { TableName: table, Item: item.old })
      else await this.must(headers, 'DeleteItem', { TableName: table, Key: item.key })
    }
  }

  rememberedToken (token) {
    if (token === undefined) return undefined
    const now = Date.now()
    for (const [ t, entry ] of this.tokens) {
      if (entry.expires <= now) this.tokens.delete(t)
    }
    return this.tokens.get(token)
  }
}

/**
 * parseTransactItems checks the shape of a TransactWriteItems request and returns its items as
 * { kind, op }. Shapes DynamoDB accepts but this layer does not implement are refused by name.
 */
function parseTransactItems (input) {
  for (const member of Object.keys(input)) {
    if (member === 'TransactItems' || member === 'ClientRequestToken') continue
    if ((member === 'ReturnConsumedCapacity' || member === 'ReturnItemCollectionMetrics') && (input[member] === 'NONE' || input[member] == null)) continue
    if (member === 'ReturnConsumedCapacity' || member === 'ReturnItemCollectionMetrics') throw unsupported(member + '=' + input[member])
    throw unsupported('the member ' + member)
  }
  const list = input.TransactItems
  if (!Array.isArray(list)) {
    throw validationError("1 validation error detected: Value null at 'transactItems' failed to satisfy constraint: Member must not be null")
  }
  if (list.length < 1 || list.length > MAX_TRANSACT_ITEMS) {
    throw validationError("1 validation error detected: Value at 'transactItems' failed to satisfy constraint: " +
      'Member must have length ' + (list.length < 1 ? 'greater than or equal to 1' : 'less than or equal to ' + MAX_TRANSACT_ITEMS))
  }
  if (input.ClientRequestToken !== undefined && typeof input.ClientRequestToken !== 'string') {
    throw validationError('ClientRequestToken must be a string')
  }
  const items = list.map((entry, i) => {
    const kinds = entry && typeof entry === 'object' ? Object.keys(entry).filter((k) => entry[k] != null) : []
    if (kinds.length !== 1) {
      throw validationError('TransactItems[' + i + '] must have exactly one of ConditionCheck, Put, Update, Delete')
    }
    const kind = kinds[0]
    const members = TRANSACT_MEMBERS[kind]
    if (!members) throw unsupported('the transaction item kind ' + kind + ' (TransactItems[' + i + '])')
    const op = entry[kind]
    if (!op || typeof op !== 'object' || Array.isArray(op)) throw validationError('TransactItems[' + i + '].' + kind + ' must be an object')
    for (const name of members.required) {
      if (op[name] == null) throw validationError('TransactItems[' + i + '].' + kind + '.' + name + ' is required')
    }
    for (const name of Object.keys(op)) {
      if (op[name] == null) continue
      if (!members.required.includes(name) && !members.optional.includes(name)) {
        throw unsupported('the member ' + name + ' in TransactItems[' + i + '].' + kind)
      }
    }
    const rv = op.ReturnValuesOnConditionCheckFailure
    if (rv != null && rv !== 'ALL_OLD' && rv !== 'NONE') {
      throw validationError('TransactItems[' + i + '].' + kind + '.ReturnValuesOnConditionCheckFailure must be ALL_OLD or NONE, not ' + rv)
    }
    return { kind, op }
  })
  if (items.every((item) => item.kind === 'ConditionCheck')) {
    throw unsupported('a transaction of ConditionCheck items only: it needs at least one Put, Update or Delete')
  }
  return items
}

/**
 * usedBy returns the members of placeholders (ExpressionAttributeNames or Values) that
 * expression refers to. A ConditionCheck's placeholders all belong to its condition and are passed
 * whole, so dynalite refuses unused ones as DynamoDB does; a write's other placeholders belong to
 * its own expression, which dynalite checks when the write runs.
 */
function usedBy (expression, placeholders, kind) {
  if (placeholders == null) return undefined
  if (kind === 'ConditionCheck') return placeholders
  const used = {}
  for (const name of Object.keys(placeholders)) {
    const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
    if (new RegExp(escaped + '(?![A-Za-z0-9_])').test(expression)) used[name] = placeholders[name]
  }
  return Object.keys(used).length > 0 ? used : undefined
}

/** withoutShimFields returns a transaction item's operation as a single-item request. */
function withoutShimFields (op) {
  const out = Object.assign({}, op)
  // A transaction's own items never return old values on success; on failure the cancellation
  // reasons carry them.
  delete out.ReturnValuesOnConditionCheckFailure
  return out
}

/** canonicalJSON renders a key with its attribute names sorted, so equal keys render equally. */
function canonicalJSON (key) {
  return JSON.stringify(Object.keys(key).sort().map((name) => [ name, key[name] ]))
}

function parseJSON (body) {
  try {
    return JSON.parse(body.toString())
  }
  catch {
    return undefined
  }
}

/** errorAnswer turns a failure of this layer's own work into the answer the client gets. */
function errorAnswer (err) {
  if (err instanceof EngineAnswer) return err.answer
  if (err instanceof ShimError) return { status: 400, body: JSON.stringify(err.body) }
  console.error('dynalite shim:', err)
  return { status: 500, body: JSON.stringify({ __type: TYPE_PREFIX + 'InternalServerError', message: 'Internal server error' }) }
}

function conditionFailed (answer) {
  return answer.status === 400 && errorType(answer) === 'ConditionalCheckFailedException'
}

/** errorType returns the short name of an error answer's __type, e.g. ValidationException. */
function errorType (answer) {
  const body = answer.json()
  const type = body && typeof body.__type === 'string' ? body.__type : ''
  return type.slice(type.indexOf('#') + 1)
}

/**
 * replayedRequest is a request carrying an already-read body, for dynalite's handler, which reads
 * the request's events as they come: it attaches its listeners synchronously, so the body is
 * emitted on the next tick.
 */
function replayedRequest (method, url, headers, body) {
  const req = new EventEmitter()
  req.method = method
  req.url = url
  req.headers = headers
  process.nextTick(() => {
    if (body.length > 0) req.emit('data', body)
    req.emit('end')
  })
  return req
}

/** CapturedResponse collects an answer of dynalite's handler instead of sending it. */
class CapturedResponse {
  constructor (resolve) {
    this.statusCode = 200
    this.headers = {}
    this.resolve = resolve
  }

  setHeader (name, value) {
    this.headers[name.toLowerCase()] = value
  }

  end (body) {
    const text = body == null ? '' : String(body)
    let parsed
    this.resolve({
      status: this.statusCode,
      contentType: this.headers['content-type'],
      body: text,
      json: () => (parsed === undefined ? (parsed = parseJSON(Buffer.from(text)) || null) : parsed),
    })
  }
}

/** send writes answer to res with the headers dynalite sends, its checksum included. */
function send (requestHeaders, res, answer) {
  if (res.destroyed || res.writableEnded) return
  const body = answer.body
  const requested = (requestHeaders['content-type'] || '').split(';')[0].trim()
  res.statusCode = answer.status
  res.setHeader('x-amzn-RequestId', requestID())
  res.setHeader('x-amz-crc32', zlib.crc32(body))
  res.setHeader('Content-Type', answer.contentType || (requested === 'application/x-amz-json-1.0' ? requested : 'application/json'))
  res.setHeader('Content-Length', Buffer.byteLength(body, 'utf8'))
  res.end(body)
}

/** requestID returns a request id in dynalite's (and DynamoDB's) format: 52 characters. */
function requestID () {
  return crypto.randomBytes(39).toString('base64').toUpperCase().replace(/\+|\//g, '0')
}

main()
