/*
 * WACRM WhatsApp Web simulator: module loader.
 *
 * Mirrors the Meta-style module system that WhatsApp Web 2.3000.x exposes in the page's main world
 * (see docs: whatsapp-web-bridge.md §1.1): globals `__d(name, deps, factory, flags)` to define,
 * `require(name)` to obtain (throws for unknown names), `importNamespace(name)`, the `__debug` module
 * with `modulesMap`, and `window.Debug.VERSION`.
 *
 * The globals are *assigned* (not declared), exactly once, so a bridge that trapped the setters at
 * DocumentCreation sees the assignment, and one that put its own placeholder on `window.require`
 * is simply overwritten.
 *
 * This file is test equipment. It holds no WhatsApp code.
 */
(function (global) {
  "use strict";

  var registry = Object.create(null); // name -> record
  var modulesMap = Object.create(null); // what __debug exposes (keys are names)

  function makeRecord(name, deps, factory, flags) {
    return {
      id: name,
      dependencies: Array.isArray(deps) ? deps.slice() : [],
      factory: factory,
      flags: flags || 0,
      exports: undefined,
      factoryFinished: false,
      hasError: false,
    };
  }

  function define(name, deps, factory, flags) {
    if (typeof name !== "string" || !name) {
      throw new TypeError("__d: module name must be a non-empty string");
    }
    if (registry[name]) {
      // Meta's loader ignores redefinitions; so do we.
      return;
    }
    var rec = makeRecord(name, deps, factory, flags);
    registry[name] = rec;
    modulesMap[name] = rec;
  }

  function requireImpl(name) {
    var rec = registry[name];
    if (!rec) {
      var err = new Error('Requiring unknown module "' + String(name) + '"');
      err.name = "ModuleNotFoundError";
      throw err;
    }
    if (rec.factoryFinished) {
      return rec.exports;
    }
    if (rec.hasError) {
      throw new Error('Module "' + name + '" failed to initialize');
    }
    var module = { exports: {}, id: name };
    try {
      if (typeof rec.factory === "function") {
        var ret = rec.factory(
          global,
          requireImpl,
          importDefault,
          importNamespace,
          requireLazy,
          module,
          module.exports
        );
        if (ret !== undefined && module.exports && Object.keys(module.exports).length === 0) {
          module.exports = ret;
        }
      } else {
        module.exports = rec.factory;
      }
    } catch (e) {
      rec.hasError = true;
      throw e;
    }
    rec.exports = module.exports;
    rec.factoryFinished = true;
    return rec.exports;
  }

  function importNamespace(name) {
    return requireImpl(name);
  }

  function importDefault(name) {
    var m = requireImpl(name);
    return m && m.__esModule && "default" in m ? m.default : m;
  }

  function requireLazy(names, callback) {
    var list = Array.isArray(names) ? names : [names];
    var attempt = function () {
      for (var i = 0; i < list.length; i++) {
        if (!registry[list[i]]) {
          global.setTimeout(attempt, 50);
          return;
        }
      }
      callback.apply(null, list.map(requireImpl));
    };
    attempt();
  }

  define("__debug", [], function (g, r, iD, iN, rL, module) {
    module.exports = { modulesMap: modulesMap };
  });

  var guard = { skip: false };
  define("ErrorGuard", [], function (g, r, iD, iN, rL, module) {
    module.exports = {
      skipGuardGlobal: function (value) {
        guard.skip = !!value;
      },
      applyWithGuard: function (fn, ctx, args) {
        if (guard.skip) {
          return fn.apply(ctx, args || []);
        }
        try {
          return fn.apply(ctx, args || []);
        } catch (e) {
          global.console.error("[ErrorGuard]", e);
          return undefined;
        }
      },
      inGuard: function () {
        return false;
      },
    };
  });

  // Plain assignments: a bridge that trapped the setters at DocumentCreation sees them, and
  // whatever was on window before (placeholder, other loader) is replaced. If an earlier
  // script made a property read-only, fall back to redefining it; never throw from here.
  function publish(name, value) {
    try {
      global[name] = value;
      return;
    } catch (_e) {
      // a getter-only accessor or a frozen property: try to redefine it
    }
    try {
      Object.defineProperty(global, name, {
        value: value,
        writable: true,
        configurable: true,
        enumerable: true,
      });
    } catch (e2) {
      global.console.error("[wa] cannot publish " + name, e2);
    }
  }

  publish("require", requireImpl);
  publish("__d", define);
  publish("importNamespace", importNamespace);
  publish("requireLazy", requireLazy);
})(window);
