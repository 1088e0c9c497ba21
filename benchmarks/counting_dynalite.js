#!/usr/bin/env node
// dynalite, counting the requests it serves by operation, and the capacity
// units its item calls consume.
//
// Takes dynalite's own command-line options (--host, --port, --createTableMs
// ...). Every request with an X-Amz-Target header is counted under the
// operation it names (`DynamoDB_20120810.GetItem` counts as `GetItem`)
// before dynalite handles it, whatever client sent it. `GET /_counts`
// answers the counts so far as a JSON object, e.g. {"GetItem": 3}.
//
// The item calls (GetItem, PutItem, UpdateItem, DeleteItem) are forwarded
// with "ReturnConsumedCapacity": "TOTAL" added to their body (dynalite does
// not check signatures), and the `ConsumedCapacity.CapacityUnits` of each
// answer is recorded. The answer goes back unchanged: clients ignore the
// extra key, and its x-amz-crc32 stays right. A conditional write that fails
// gets no capacity from dynalite (DynamoDB charges it); it is counted apart.
// `GET /_capacity` answers, e.g.
//   {"units": {"GetItem": 1.5}, "measured": {"GetItem": 2},
//    "reads": {"consistent": 1, "eventual": 1}, "failed_writes": {}}
// where "measured" counts the answers that carried a capacity.
'use strict'

var PassThrough = require('stream').PassThrough
var argv = require('minimist')(process.argv.slice(2))
var dynalite = require('dynalite')

var server = dynalite(argv)
var handle = server.listeners('request')[0]
var counts = {}
var capacity = { units: {}, measured: {}, reads: { consistent: 0, eventual: 0 }, failed_writes: {} }
var ITEM_CALLS = [ 'GetItem', 'PutItem', 'UpdateItem', 'DeleteItem' ]

function add (table, key, amount) {
  table[key] = (table[key] || 0) + amount
}

function answerJson (res, value) {
  var body = JSON.stringify(value)
  res.writeHead(200, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(body),
  })
  res.end(body)
}

// Record what one answer of an item call consumed.
function record (operation, body, statusCode) {
  var answer
  try {
    answer = JSON.parse(body)
  }
  catch {
    return
  }
  if (answer && answer.ConsumedCapacity) {
    add(capacity.units, operation, answer.ConsumedCapacity.CapacityUnits)
    add(capacity.measured, operation, 1)
  }
  else if (statusCode >= 400 && answer && /ConditionalCheckFailed/.test(answer.__type || '')) {
    add(capacity.failed_writes, operation, 1)
  }
}

// Forward an item call with ReturnConsumedCapacity, and record its answer.
function forwardMeasured (operation, req, res) {
  var chunks = []
  req.on('data', function (chunk) { chunks.push(chunk) })
  req.on('end', function () {
    var body = Buffer.concat(chunks).toString()
    try {
      var data = JSON.parse(body)
      if (data.ReturnConsumedCapacity !== 'INDEXES') data.ReturnConsumedCapacity = 'TOTAL'
      if (operation === 'GetItem') {
        capacity.reads[data.ConsistentRead ? 'consistent' : 'eventual'] += 1
      }
      body = JSON.stringify(data)
    }
    catch {
      // not JSON: dynalite answers that itself
    }
    var forwarded = new PassThrough()
    forwarded.method = req.method
    forwarded.url = req.url
    forwarded.headers = Object.assign({}, req.headers, {
      'content-length': String(Buffer.byteLength(body)),
    })
    var end = res.end
    res.end = function (answer) {
      if (answer != null) record(operation, String(answer), res.statusCode)
      return end.apply(res, arguments)
    }
    handle(forwarded, res)
    forwarded.end(body)
  })
}

server.removeAllListeners('request')
server.on('request', function (req, res) {
  if (req.method === 'GET' && req.url === '/_counts') return answerJson(res, counts)
  if (req.method === 'GET' && req.url === '/_capacity') return answerJson(res, capacity)
  var target = req.headers['x-amz-target']
  if (target) {
    var operation = target.slice(target.lastIndexOf('.') + 1)
    add(counts, operation, 1)
    if (req.method === 'POST' && ITEM_CALLS.indexOf(operation) !== -1) {
      return forwardMeasured(operation, req, res)
    }
  }
  handle(req, res)
})

server.listen(argv.port || 4567, argv.host || undefined, function () {
  var address = server.address()
  console.log('counting dynalite listening at http://%s:%s', argv.host || 'localhost', address.port)
})
