// The card form of Settings › Payment method: Stripe.js (loaded before this file) confirms the SetupIntent.
(function () {
  const form = document.getElementById("card-setup-form");
  const stripe = Stripe(form.dataset.publishableKey);
  const card = stripe.elements().create("card");
  card.mount("#card-element");
  form.addEventListener("submit", async function (event) {
    event.preventDefault();
    const result = await stripe.confirmCardSetup(form.dataset.clientSecret, {payment_method: {card: card}});
    if (result.error) {
      document.getElementById("card-errors").textContent = result.error.message || "The card was not accepted.";
      return;
    }
    form.elements.setup_intent.value = result.setupIntent.id;
    form.submit();
  });
})();
