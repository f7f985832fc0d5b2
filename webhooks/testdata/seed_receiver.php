<?php
// A receiver's use of WalletPro payloads as a WooCommerce plugin written
// from walletpro-webhooks.txt does it: json_decode each body, cast the ids
// with (int), and check their types with is_int / is_null. Reads one body
// per line of the file named by argv[1]; prints each failure and exits 1
// if there was any. Run by seed_receiver_test.go.

$fails = 0;
$bodies = 0;
$fail = function (string $msg) use (&$fails) {
    echo $msg, "\n";
    $fails++;
};
foreach (file($argv[1], FILE_IGNORE_NEW_LINES | FILE_SKIP_EMPTY_LINES) as $line) {
    $payload = json_decode($line, true, 512, JSON_THROW_ON_ERROR);
    $event = $payload['event'];
    $data = $payload['data'];
    $bodies++;
    if (!is_string($payload['id']) || !str_starts_with($payload['id'], 'wph_') || $payload['api_version'] !== 'v1') {
        $fail("$event: envelope " . json_encode($payload));
    }
    if (str_starts_with($event, 'wallet.transfer.')) {
        $ints = ['transfer_id', 'sender_id', 'recipient_id'];
        $strings = ['sender_email', 'recipient_email', 'amount', 'currency', 'note'];
    } else {
        $ints = ['transaction_id', 'user_id'];
        $strings = ['user_email', 'amount', 'currency', 'balance_after', 'type', 'reason', 'ledger_hash'];
        if (!array_key_exists('order_id', $data)) {
            $fail("$event: no order_id");
        } elseif (!is_null($data['order_id']) && !is_int($data['order_id'])) {
            $fail("$event: order_id is neither null nor an integer: " . json_encode($data['order_id']));
        }
    }
    foreach ($ints as $f) {
        if (!array_key_exists($f, $data) || !is_int($data[$f])) {
            $fail("$event: $f is not an integer: " . json_encode($data[$f] ?? null));
        } elseif ((int) $data[$f] <= 0) {
            $fail("$event: (int) $f is " . (int) $data[$f]);
        }
    }
    foreach ($strings as $f) {
        if (!array_key_exists($f, $data) || !is_string($data[$f])) {
            $fail("$event: $f is not a string: " . json_encode($data[$f] ?? null));
        }
    }
    if (!is_numeric($data['amount'] ?? null)) {
        $fail("$event: amount is not a decimal string");
    }
}
echo "$bodies bodies, $fails failures\n";
exit($fails > 0 ? 1 : 0);
