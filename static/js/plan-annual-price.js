(function () {
  // Fill the annual price from the monthly one (× 10: two months free); the server does the same when the box is ticked.
  var monthly = document.getElementById("id_monthly_price_0");
  var annual = document.getElementById("id_annual_price_0");
  if (!monthly || !annual) return;
  var button = document.createElement("button");
  button.type = "button";
  button.className = "button";
  button.textContent = "Monthly × 10 (two months free)";
  button.addEventListener("click", function () {
    var m = (monthly.value || "").trim();
    if (!/^\d+(\.\d{1,2})?$/.test(m)) return;
    var parts = m.split(".");
    var cents = parseInt(parts[0], 10) * 100 + parseInt(((parts[1] || "") + "00").slice(0, 2), 10);
    var total = cents * 10;
    annual.value = Math.floor(total / 100) + "." + String(total % 100).padStart(2, "0");
    var mc = document.getElementById("id_monthly_price_1"), ac = document.getElementById("id_annual_price_1");
    if (mc && ac) ac.value = mc.value;
  });
  annual.insertAdjacentElement("afterend", button);
})();
