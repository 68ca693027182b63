/*
 * WACRM WhatsApp Web simulator: primitives shared by the simulated modules.
 *
 * Backbone-like events, models (attributes stored as `__x_<name>` behind getters, `serialize()`),
 * collections (`get`, `getModelsArray`, `add`, `remove`, events bubbling from their models), and the
 * id classes `Wid` and `MsgKey` with the formats of whatsapp-web-bridge.md §3.2–3.3.
 *
 * Handed to wa_sim.js through a short-lived global that wa_sim.js deletes at once; nothing here is
 * part of what a bridge is supposed to see.
 */
(function (global) {
  "use strict";

  var params = new URLSearchParams(global.location.search);
  // July-2026 breaking change: keys and wids lose `_serialized` (whatsapp-web-bridge.md §3.2).
  var NO_KEY_SERIALIZED = params.get("nokeyser") === "1";

  // ---------------------------------------------------------------- helpers

  function randomHex(n) {
    var bytes = new Uint8Array(Math.ceil(n / 2));
    global.crypto.getRandomValues(bytes);
    var s = "";
    for (var i = 0; i < bytes.length; i++) {
      s += ("0" + bytes[i].toString(16)).slice(-2);
    }
    return s.slice(0, n).toUpperCase();
  }

  function randomDigits(n, firstNonZero) {
    var bytes = new Uint8Array(n);
    global.crypto.getRandomValues(bytes);
    var s = "";
    for (var i = 0; i < n; i++) {
      var d = bytes[i] % 10;
      if (i === 0 && firstNonZero && d === 0) {
        d = 1 + (bytes[i] % 9);
      }
      s += String(d);
    }
    return s;
  }

  /** Deterministic 32-bit hash (FNV-1a) for stable, reproducible ids. */
  function hash32(str) {
    var h = 0x811c9dc5;
    for (var i = 0; i < str.length; i++) {
      h ^= str.charCodeAt(i);
      h = Math.imul(h, 0x01000193) >>> 0;
    }
    return h >>> 0;
  }

  function stableHex(seed, n) {
    var out = "";
    var i = 0;
    while (out.length < n) {
      var h = hash32(seed + "#" + i);
      // murmur3 finalizer: FNV-1a alone leaves visible patterns in similar seeds
      h ^= h >>> 16;
      h = Math.imul(h, 0x85ebca6b) >>> 0;
      h ^= h >>> 13;
      h = Math.imul(h, 0xc2b2ae35) >>> 0;
      h ^= h >>> 16;
      out += ("00000000" + (h >>> 0).toString(16)).slice(-8);
      i++;
    }
    return out.slice(0, n).toUpperCase();
  }

  function reportError(where, err) {
    global.console.error("[wa] error in " + where + ":", err);
  }

  // ---------------------------------------------------------------- events

  function Events() {}

  function eventStore(obj) {
    if (!Object.prototype.hasOwnProperty.call(obj, "_events")) {
      Object.defineProperty(obj, "_events", {
        value: Object.create(null),
        enumerable: false,
        writable: true,
        configurable: true,
      });
    }
    return obj._events;
  }

  function splitNames(name) {
    return String(name).split(/\s+/).filter(Boolean);
  }

  Events.prototype.on = function (name, callback, context) {
    if (typeof callback !== "function") {
      return this;
    }
    var store = eventStore(this);
    splitNames(name).forEach(function (n) {
      (store[n] = store[n] || []).push({ callback: callback, context: context });
    });
    return this;
  };

  Events.prototype.once = function (name, callback, context) {
    if (typeof callback !== "function") {
      return this;
    }
    var self = this;
    splitNames(name).forEach(function (n) {
      var fired = false;
      var wrapper = function () {
        if (fired) {
          return;
        }
        fired = true;
        self.off(n, wrapper);
        return callback.apply(this, arguments);
      };
      wrapper._callback = callback;
      self.on(n, wrapper, context);
    });
    return this;
  };

  Events.prototype.off = function (name, callback, context) {
    var store = eventStore(this);
    var names = name == null ? Object.keys(store) : splitNames(name);
    names.forEach(function (n) {
      var list = store[n];
      if (!list) {
        return;
      }
      if (callback == null && context == null) {
        delete store[n];
        return;
      }
      store[n] = list.filter(function (h) {
        var sameCb =
          callback == null || h.callback === callback || h.callback._callback === callback;
        var sameCtx = context == null || h.context === context;
        return !(sameCb && sameCtx);
      });
      if (!store[n].length) {
        delete store[n];
      }
    });
    return this;
  };

  Events.prototype.trigger = function (name) {
    var store = eventStore(this);
    var args = Array.prototype.slice.call(arguments, 1);
    var self = this;
    splitNames(name).forEach(function (n) {
      var list = store[n] ? store[n].slice() : [];
      list.forEach(function (h) {
        try {
          h.callback.apply(h.context === undefined ? self : h.context, args);
        } catch (e) {
          reportError("listener for '" + n + "'", e);
        }
      });
      var all = store.all ? store.all.slice() : [];
      all.forEach(function (h) {
        try {
          h.callback.apply(h.context === undefined ? self : h.context, [n].concat(args));
        } catch (e) {
          reportError("listener for 'all'", e);
        }
      });
    });
    return this;
  };

  Events.prototype.listenTo = function (other, name, callback) {
    other.on(name, callback, this);
    return this;
  };

  Events.prototype.stopListening = function (other, name, callback) {
    if (other) {
      other.off(name, callback, this);
    }
    return this;
  };

  function mixinEvents(obj) {
    ["on", "once", "off", "trigger", "listenTo", "stopListening"].forEach(function (k) {
      Object.defineProperty(obj, k, {
        value: Events.prototype[k],
        enumerable: false,
        writable: true,
        configurable: true,
      });
    });
    return obj;
  }

  // ---------------------------------------------------------------- models

  function Model() {}
  Model.prototype = Object.create(Events.prototype);
  Model.prototype.constructor = Model;

  Model.prototype.get = function (attr) {
    return this["__x_" + attr];
  };

  Model.prototype.set = function (key, value, options) {
    var attrs;
    if (key !== null && typeof key === "object") {
      attrs = key;
      options = value;
    } else {
      attrs = {};
      attrs[key] = value;
    }
    options = options || {};
    var changes = [];
    var fields = this.constructor.fields || {};
    for (var k in attrs) {
      if (!Object.prototype.hasOwnProperty.call(attrs, k)) {
        continue;
      }
      if (!Object.prototype.hasOwnProperty.call(fields, k)) {
        continue; // unknown attribute: WA models ignore those as well
      }
      var prev = this["__x_" + k];
      if (prev !== attrs[k]) {
        this["__x_" + k] = attrs[k];
        changes.push([k, attrs[k], prev]);
      }
    }
    if (!options.silent && changes.length) {
      for (var i = 0; i < changes.length; i++) {
        this.trigger("change:" + changes[i][0], this, changes[i][1], changes[i][2]);
      }
      this.trigger("change", this);
    }
    return this;
  };

  /** Plain copy of the attributes. Ids and nested models stay as they are (as in WA). */
  Model.prototype.serialize = function () {
    var out = {};
    var fields = this.constructor.fields || {};
    for (var k in fields) {
      if (Object.prototype.hasOwnProperty.call(fields, k)) {
        out[k] = this["__x_" + k];
      }
    }
    return out;
  };

  Model.prototype.unsafe = function () {
    return this;
  };

  /**
   * Declares a model class. `fields` maps attribute names to defaults (functions are called to
   * build fresh defaults). Each attribute lives in `this.__x_<name>` with a getter/setter pair.
   */
  function defineModel(name, fields, methods) {
    var Ctor = function (attrs, options) {
      attrs = attrs || {};
      for (var k in fields) {
        if (!Object.prototype.hasOwnProperty.call(fields, k)) {
          continue;
        }
        var v = attrs[k];
        if (v === undefined) {
          v = typeof fields[k] === "function" ? fields[k]() : fields[k];
        }
        this["__x_" + k] = v;
      }
      if (this.initialize) {
        this.initialize(attrs, options || {});
      }
    };
    Object.defineProperty(Ctor, "name", { value: name });
    Ctor.prototype = Object.create(Model.prototype);
    Ctor.prototype.constructor = Ctor;
    Ctor.fields = fields;
    Object.keys(fields).forEach(function (k) {
      Object.defineProperty(Ctor.prototype, k, {
        get: function () {
          return this["__x_" + k];
        },
        set: function (v) {
          this.set(k, v);
        },
        enumerable: false,
        configurable: true,
      });
    });
    Object.keys(methods || {}).forEach(function (k) {
      var desc = Object.getOwnPropertyDescriptor(methods, k);
      desc.enumerable = false;
      desc.configurable = true;
      Object.defineProperty(Ctor.prototype, k, desc);
    });
    return Ctor;
  }

  // ---------------------------------------------------------------- collections

  function idKey(id) {
    if (id == null) {
      return undefined;
    }
    if (typeof id === "string") {
      return id;
    }
    if (id instanceof Model) {
      return idKey(id.id);
    }
    if (typeof id.toString === "function" && id.toString !== Object.prototype.toString) {
      return id.toString();
    }
    if (typeof id._serialized === "string") {
      return id._serialized;
    }
    return undefined;
  }

  /**
   * Backbone-like collection. `options.model` builds models from plain attributes, and
   * `options.comparator(a, b)` keeps the order.
   */
  function Collection(options) {
    options = options || {};
    Object.defineProperty(this, "_models", { value: [], writable: true, enumerable: false });
    Object.defineProperty(this, "_byId", { value: new Map(), writable: true, enumerable: false });
    Object.defineProperty(this, "_modelClass", { value: options.model || null, enumerable: false });
    Object.defineProperty(this, "_comparator", {
      value: options.comparator || null,
      enumerable: false,
    });
    var self = this;
    Object.defineProperty(this, "_onModelEvent", {
      value: function (event) {
        var args = Array.prototype.slice.call(arguments, 1);
        self.trigger.apply(self, [event].concat(args));
      },
      enumerable: false,
    });
  }
  Collection.prototype = Object.create(Events.prototype);
  Collection.prototype.constructor = Collection;

  Object.defineProperty(Collection.prototype, "length", {
    get: function () {
      return this._models.length;
    },
  });

  Collection.prototype.get = function (id) {
    var key = idKey(id);
    return key === undefined ? undefined : this._byId.get(key);
  };

  Collection.prototype.has = function (id) {
    return this.get(id) !== undefined;
  };

  Collection.prototype.getModelsArray = function () {
    return this._models.slice();
  };

  Collection.prototype.at = function (i) {
    return this._models[i < 0 ? this._models.length + i : i];
  };

  Collection.prototype.first = function () {
    return this._models[0];
  };

  Collection.prototype.last = function () {
    return this._models[this._models.length - 1];
  };

  Collection.prototype.forEach = function (fn, ctx) {
    this._models.slice().forEach(fn, ctx);
  };

  Collection.prototype.filter = function (fn, ctx) {
    return this._models.filter(fn, ctx);
  };

  Collection.prototype.map = function (fn, ctx) {
    return this._models.map(fn, ctx);
  };

  Collection.prototype.indexOf = function (model) {
    return this._models.indexOf(model);
  };

  Collection.prototype._insert = function (model) {
    var cmp = this._comparator;
    if (!cmp) {
      this._models.push(model);
      return;
    }
    var i = this._models.length;
    while (i > 0 && cmp(this._models[i - 1], model) > 0) {
      i--;
    }
    this._models.splice(i, 0, model);
  };

  Collection.prototype.add = function (items, options) {
    options = options || {};
    var single = !Array.isArray(items);
    var list = single ? [items] : items;
    var added = [];
    var result = [];
    for (var i = 0; i < list.length; i++) {
      var item = list[i];
      if (item == null) {
        continue;
      }
      var model = item;
      if (!(item instanceof Model)) {
        if (!this._modelClass) {
          throw new TypeError("Collection.add: no model class for plain attributes");
        }
        var existingPlain = this.get(item.id);
        if (existingPlain) {
          if (options.merge) {
            existingPlain.set(item);
          }
          result.push(existingPlain);
          continue;
        }
        model = new this._modelClass(item);
      }
      var key = idKey(model.id);
      if (key === undefined) {
        throw new TypeError("Collection.add: model without id");
      }
      var existing = this._byId.get(key);
      if (existing) {
        result.push(existing);
        continue;
      }
      this._byId.set(key, model);
      this._insert(model);
      model.on("all", this._onModelEvent, this);
      added.push(model);
      result.push(model);
    }
    if (!options.silent) {
      for (var j = 0; j < added.length; j++) {
        this.trigger("add", added[j], this, options);
      }
    }
    return single ? result[0] : result;
  };

  Collection.prototype.remove = function (items, options) {
    options = options || {};
    var single = !Array.isArray(items);
    var list = single ? [items] : items;
    var removed = [];
    for (var i = 0; i < list.length; i++) {
      var model = this.get(list[i]);
      if (!model) {
        continue;
      }
      this._byId.delete(idKey(model.id));
      var idx = this._models.indexOf(model);
      if (idx >= 0) {
        this._models.splice(idx, 1);
      }
      model.off("all", this._onModelEvent, this);
      removed.push(model);
      if (!options.silent) {
        this.trigger("remove", model, this, options);
      }
    }
    return single ? removed[0] : removed;
  };

  Collection.prototype.sort = function () {
    if (this._comparator) {
      this._models.sort(this._comparator);
      this.trigger("sort", this);
    }
    return this;
  };

  // ---------------------------------------------------------------- Wid

  var USER_SERVERS = { "c.us": true, lid: true, bot: true, hosted: true, "hosted.lid": true };

  function Wid(str) {
    if (typeof str !== "string" || str.indexOf("@") < 1) {
      throw new Error("createWid: invalid wid " + JSON.stringify(String(str)));
    }
    var at = str.lastIndexOf("@");
    var userPart = str.slice(0, at);
    var server = str.slice(at + 1);
    if (server === "s.whatsapp.net") {
      server = "c.us";
    }
    if (!server) {
      throw new Error("createWid: invalid wid " + JSON.stringify(str));
    }
    var device;
    var agent;
    var colon = userPart.indexOf(":");
    if (colon >= 0) {
      device = parseInt(userPart.slice(colon + 1), 10);
      userPart = userPart.slice(0, colon);
    }
    var underscore = userPart.indexOf("_");
    if (underscore >= 0 && server !== "g.us") {
      agent = parseInt(userPart.slice(underscore + 1), 10);
      userPart = userPart.slice(0, underscore);
    }
    this.server = server;
    this.user = userPart;
    if (device !== undefined && !isNaN(device)) {
      this.device = device;
    }
    if (agent !== undefined && !isNaN(agent)) {
      this.agent = agent;
    }
    if (!NO_KEY_SERIALIZED) {
      this._serialized = this.toString();
    }
  }

  Wid.prototype.toString = function () {
    var user = this.user;
    if (this.agent !== undefined) {
      user += "_" + this.agent;
    }
    if (this.device !== undefined) {
      user += ":" + this.device;
    }
    return user + "@" + this.server;
  };
  Wid.prototype.isLid = function () {
    return this.server === "lid" || this.server === "hosted.lid";
  };
  Wid.prototype.isUser = function () {
    return USER_SERVERS[this.server] === true;
  };
  Wid.prototype.isGroup = function () {
    return this.server === "g.us";
  };
  Wid.prototype.isNewsletter = function () {
    return this.server === "newsletter";
  };
  Wid.prototype.isBroadcast = function () {
    return this.server === "broadcast";
  };
  Wid.prototype.isStatus = function () {
    return this.server === "broadcast" && this.user === "status";
  };
  Wid.prototype.isStatusV3 = Wid.prototype.isStatus;
  Wid.prototype.isBot = function () {
    return this.server === "bot";
  };
  Wid.prototype.isPSA = function () {
    return this.server === "c.us" && this.user === "0";
  };
  Wid.prototype.isServer = function () {
    return this.server === "c.us" && this.user === "server";
  };
  Wid.prototype.equals = function (other) {
    if (other == null) {
      return false;
    }
    return String(other) === this.toString();
  };
  Wid.isWid = function (x) {
    return x instanceof Wid;
  };

  function asWid(x) {
    if (x == null) {
      return undefined;
    }
    if (x instanceof Wid) {
      return x;
    }
    return new Wid(String(x));
  }

  // ---------------------------------------------------------------- MsgKey

  function MsgKey(opts) {
    if (!opts || typeof opts !== "object") {
      throw new TypeError("MsgKey: options object required");
    }
    var fromMe;
    var remote;
    if (opts.selfDir !== undefined || (opts.remote === undefined && (opts.from || opts.to))) {
      fromMe = opts.selfDir ? opts.selfDir === "out" : !!opts.fromMe;
      remote = fromMe ? opts.to : opts.from;
    } else {
      fromMe = opts.fromMe === true || opts.fromMe === "true";
      remote = opts.remote;
    }
    if (remote == null) {
      throw new TypeError("MsgKey: remote is required");
    }
    if (typeof opts.id !== "string" || !opts.id) {
      throw new TypeError("MsgKey: id must be a non-empty string");
    }
    this.fromMe = fromMe;
    this.remote = asWid(remote);
    this.id = opts.id;
    this.participant = opts.participant ? asWid(opts.participant) : undefined;
    var s = this.toString();
    if (NO_KEY_SERIALIZED) {
      // Since WA 2.3000.1042401057 the string is cached in a minified field instead.
      Object.defineProperty(this, "$1", { value: s, enumerable: true, writable: false });
    } else {
      this._serialized = s;
    }
  }

  MsgKey.prototype.toString = function () {
    var s = String(this.fromMe) + "_" + this.remote.toString() + "_" + this.id;
    if (this.participant) {
      s += "_" + this.participant.toString();
    }
    return s;
  };

  MsgKey.prototype.equals = function (other) {
    return other != null && String(other) === this.toString();
  };

  MsgKey.newId = function () {
    return Promise.resolve("3EB0" + randomHex(16));
  };

  MsgKey.fromString = function (str) {
    if (typeof str !== "string") {
      throw new TypeError("MsgKey.fromString: string expected");
    }
    var parts = str.split("_");
    if (parts.length < 3 || (parts[0] !== "true" && parts[0] !== "false")) {
      throw new Error("MsgKey.fromString: invalid key " + JSON.stringify(str));
    }
    return new MsgKey({
      fromMe: parts[0] === "true",
      remote: parts[1],
      id: parts[2],
      participant: parts.length > 3 ? parts.slice(3).join("_") : undefined,
    });
  };

  MsgKey.isMsgKey = function (x) {
    return x instanceof MsgKey;
  };

  global.__waSimCore = {
    NO_KEY_SERIALIZED: NO_KEY_SERIALIZED,
    params: params,
    randomHex: randomHex,
    randomDigits: randomDigits,
    hash32: hash32,
    stableHex: stableHex,
    reportError: reportError,
    Events: Events,
    mixinEvents: mixinEvents,
    Model: Model,
    defineModel: defineModel,
    Collection: Collection,
    idKey: idKey,
    Wid: Wid,
    asWid: asWid,
    MsgKey: MsgKey,
  };
})(window);
